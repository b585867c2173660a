"""The operator dashboard page (/console/dashboard) and the JSON it polls
(/console/dashboard/data.json): the figures of app/disclosure/dashboard.py, the same service and
the same shape (DashboardSchema) as GET /staff/dashboard, for signed-in operators only."""

from __future__ import annotations

import marshmallow as ma
from flask import Blueprint, current_app, jsonify, render_template, request

from app.disclosure import dashboard
from app.disclosure.schemas import DashboardQuerySchema, DashboardSchema
from app.error_catalogue import E
from app.web.session import staff_page

blp = Blueprint("web_dashboard", __name__, url_prefix="/console/dashboard")


def _product_code() -> str | None:
    try:
        query = DashboardQuerySchema().load(request.args)
    except ma.ValidationError:
        raise E.validation_failed("产品代码格式不正确") from None
    return query.get("product")


@blp.get("")
@staff_page("operator")
def page():
    code = _product_code()
    dashboard.check_product(code)  # an unknown product: the Chinese 404 page, not a dead board
    return render_template(
        "web/dashboard/index.html",
        products=dashboard.product_choices(),
        selected=code,
        refresh_seconds=current_app.config["DASHBOARD_REFRESH_SECONDS"],
    )


@blp.get("/data.json")
@staff_page("operator")
def data():
    body = DashboardSchema().dump(dashboard.dashboard(_product_code()))
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response
