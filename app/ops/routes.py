"""Operations endpoints: liveness, readiness and Prometheus metrics.

`/healthz` and `/readyz` are public and cheap (load balancers and orchestrators call them without
credentials). `/metrics` answers only `Authorization: Bearer <METRICS_TOKEN>`: one port and one
ingress for the service, usable under `flask run` as under gunicorn, and nothing about traffic or
payments is shown to anyone else. With METRICS_TOKEN unset it answers nobody.
"""

from __future__ import annotations

import hmac

from flask import Response, current_app, json, request

from app.api import Blueprint
from app.error_catalogue import E
from app.errors import PROBLEM_CONTENT_TYPE, problem_body
from app.ops import health, metrics
from app.ops.schemas import HealthSchema, ReadinessProblemSchema, ReadinessSchema

blp = Blueprint("ops", __name__, description="运维 Operations: health, readiness, metrics")

_DEPENDENCY_NAMES = {"database": "数据库", "redis": "Redis", "rate_limits": "限流计数"}


@blp.route("/healthz", methods=["GET"])
@blp.response(200, HealthSchema)
def healthz():
    """Liveness: the process answers. Touches no database, so a database outage does not make
    an orchestrator restart healthy workers."""
    return {"status": "ok"}


@blp.route("/readyz", methods=["GET"])
@blp.response(200, ReadinessSchema)
@blp.alt_response(
    503,
    schema=ReadinessProblemSchema,
    content_type="application/problem+json",
    description="A dependency is down or too slow; `checks` names it",
)
def readyz():
    """Readiness: the database answers `SELECT 1` within READINESS_TIMEOUT_SECONDS. Redis (when
    REDIS_URL is configured) is pinged too; without it the service answers 200 "degraded"."""
    readiness = health.check_readiness()
    if not readiness.ready:
        names = "、".join(_DEPENDENCY_NAMES[name] for name in readiness.failed)
        body = problem_body(503, "not_ready", f"服务暂未就绪：{names}不可用")
        body["checks"] = readiness.checks  # an RFC 9457 extension member
        return Response(
            json.dumps(body, ensure_ascii=False), status=503, mimetype=PROBLEM_CONTENT_TYPE
        )
    return {"status": "degraded" if readiness.degraded else "ready", "checks": readiness.checks}


@blp.route("/metrics", methods=["GET"])
@blp.response(
    200,
    content_type="text/plain",
    description="Prometheus text exposition (OpenMetrics when the scraper asks)",
)
@blp.doc(security=[{"metricsAuth": []}])
@blp.errors(401)
def prometheus_metrics():
    """Prometheus metrics for the operator: `Authorization: Bearer <METRICS_TOKEN>`."""
    expected = current_app.config["METRICS_TOKEN"]
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if not (
        expected
        and scheme.lower() == "bearer"
        and hmac.compare_digest(presented.strip().encode(), expected.encode())
    ):
        raise E.metrics_unauthorized(headers={"WWW-Authenticate": 'Bearer realm="huimin-metrics"'})
    body, content_type = metrics.exposition(request.headers.get("Accept"))
    return Response(body, content_type=content_type)
