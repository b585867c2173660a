"""Request signatures for the hospitals' direct-settlement API (port.py; SM2 with SM3 in sm2.py)."""
