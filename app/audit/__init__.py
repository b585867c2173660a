"""Append-only audit trail of access to sensitive data and of security-relevant actions."""
