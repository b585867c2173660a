"""Pages: the staff console and the public pages, served by the app itself (no CDN).

A way in, like routes: each handler parses, calls the same service the API route calls and
renders; no business rule lives here or in a template. Pages are not in the OpenAPI spec.
"""

from __future__ import annotations

from importlib import import_module

from flask import Flask

from app.web.session import init_not_found, init_templates, prepare_blueprint

# One plain Flask Blueprint (`blp`) per module, in this order.
PAGE_MODULES = (
    "app.web.console",  # sign-in, sign-out, home, staff accounts
    "app.web.public",  # the disclosure page (/disclosure)
    "app.web.dashboard",  # the operator dashboard and the JSON it polls
    "app.web.review",  # the reviewer's workspace
    "app.web.sponsor",  # the sponsor console (organisation admins)
)


def register_pages(app: Flask) -> None:
    init_templates(app)
    init_not_found(app)
    # The page blueprints' names: tests tell page routes from API routes by them.
    names = app.extensions.setdefault("page_blueprints", [])
    for module in PAGE_MODULES:
        blueprint = import_module(module).blp
        prepare_blueprint(blueprint)
        app.register_blueprint(blueprint)
        names.append(blueprint.name)
