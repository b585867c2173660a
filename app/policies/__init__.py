"""Policies: issued cover, electronic certificates, surrender."""
