"""Renewal (续保): a member's standing consent to renew a person's cover each plan year, and the
renewal run that acts on it when next year's window opens."""
