"""Enrollment: quotes, orders for self and relatives, and their funding."""
