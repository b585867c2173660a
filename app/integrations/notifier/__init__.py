"""Member notifications: WeChat mini-program subscription messages (port, sandbox, real)."""
