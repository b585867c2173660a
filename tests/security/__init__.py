"""Security harnesses every feature must keep green (QUALITY.md, security checklist)."""
