"""WeChat Pay API v3 (JSAPI / mini-program): orders, query, close, refunds, notifications."""
