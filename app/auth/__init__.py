"""Authentication: WeChat login and staff login -> our own JWT access tokens and rotating
opaque refresh tokens; the current principal; role checks."""
