"""Sponsorship: employers, charities, paired-assistance bodies and relief funds paying premiums."""
