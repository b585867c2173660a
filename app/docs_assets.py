"""Serve Swagger UI's static files from the swagger-ui-bundle wheel, so /docs works offline."""

from __future__ import annotations

from flask import Flask, send_from_directory


def register_swagger_assets(app: Flask) -> None:
    from swagger_ui_bundle import swagger_ui_path

    def swagger_assets(filename: str):
        return send_from_directory(swagger_ui_path, filename, max_age=3600)

    app.add_url_rule("/docs/assets/<path:filename>", "swagger_assets", swagger_assets)
