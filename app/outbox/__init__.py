"""Transactional outbox: member notifications are written in the same transaction as the change
they announce and delivered afterwards through the notifier port, with retries."""
