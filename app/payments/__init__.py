"""Payments: personal-account debit (家庭共济) and WeChat Pay, settlement exactly once,
reconciliation of outcomes left unknown, and the premium ledger."""
