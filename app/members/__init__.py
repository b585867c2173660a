"""Members (WeChat accounts), the natural persons they stand for, and their relatives."""
