"""The project as the benchmarks serve it: `gunicorn -c gunicorn.conf.py bench.project_wsgi:app`.

The same app as wsgi.py (development profile, the sandbox bureau and WeChat Pay), except that
- the global verification rate limit is raised: a benchmark verifies thousands of members a
  minute, which the production limit (RATE_LIMIT_VERIFY_GLOBAL) exists to refuse; the limiter
  still runs on every request it guards;
- the sandbox WeChat Pay key (one random key per process otherwise) is read from the PEM file
  BENCH_WECHATPAY_SANDBOX_KEY names, so notifications the benchmark signs verify in every worker.
"""

import os

from app import create_app
from app.config import load_config


def _sandbox_wechatpay_key() -> None:
    path = os.environ.get("BENCH_WECHATPAY_SANDBOX_KEY")
    if not path:
        return
    from cryptography.hazmat.primitives import serialization

    from app.integrations.wechatpay import sandbox

    with open(path, "rb") as f:
        sandbox._keypair = serialization.load_pem_private_key(f.read(), password=None)  # type: ignore[assignment]


def build():
    _sandbox_wechatpay_key()
    config = load_config("development")
    config.RATE_LIMIT_VERIFY_GLOBAL = "1000000 per minute"
    return create_app(config)


app = build()
