"""Resident identity: ID-number rules, and real-time verification with the bureau (1101)."""
