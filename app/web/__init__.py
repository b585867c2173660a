"""Pages served by the app itself (no CDN). Until web-base's foundation lands this registers the
public pages only; the foundation's register_pages lists every page module."""

from __future__ import annotations

from importlib import import_module

from flask import Flask

PAGE_MODULES = ("app.web.public",)  # the disclosure page (/disclosure)


def register_pages(app: Flask) -> None:
    for name in PAGE_MODULES:
        app.register_blueprint(import_module(name).blp)
