"""Ports and adapters to the outside world. Each port has a sandbox adapter (embedded,
deterministic, for development and tests) and a real one (HTTP per the real protocol)."""
