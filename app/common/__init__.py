"""Small pieces shared by every capability: base schemas, pagination, time."""
