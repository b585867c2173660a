"""The city medical-insurance bureau, national-platform style (1101 person lookup, ...)."""
