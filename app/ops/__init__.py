"""Operations: health and readiness endpoints, Prometheus metrics, request ids and request logs.

`init_app(app)` wires the request hooks; the blueprint (`app.ops.routes.blp`) is registered with
the others in `create_app`. Domain code reports outcomes through `app.ops.metrics`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.ops import logs

    logs.init_app(app)
