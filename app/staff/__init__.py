"""Staff views of member data: every read of sensitive data is audited in the same transaction."""
