"""Claim payouts: bank transfers to the payee (port, sandbox, real HTTP adapter)."""
