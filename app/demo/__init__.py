"""Demo data for the embedded default: synthetic residents for the sandbox bureau, demo staff."""
