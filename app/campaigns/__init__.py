"""Invite campaigns: an organisation hands out a QR code whose signed link enrolls the resident
who scans it, at the sponsor's cost, within a quota and before an expiry."""
