"""Förderportal Digitalisierung Hessen — Flask application factory."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from app.config import Settings
from app.errors import register_error_handlers, reject_invalid_text
from app.schemas import Problem


class PortalApi(Api):
    """flask-smorest Api whose HTTP errors use the platform's problem shape."""

    ERROR_SCHEMA = Problem  # documents {code, message, errors[]} for every error response

    def handle_http_exception(self, error):  # noqa: ANN001, ANN201
        from app.errors import handle_http

        return handle_http(error)


def create_app(config: dict | None = None, platform=None) -> Flask:  # noqa: ANN001
    from app.services.platform import Platform

    settings = Settings.from_env(config)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.SECRET_KEY,
        MAX_CONTENT_LENGTH=60 * 1024 * 1024,
        API_TITLE="Förderportal Digitalisierung Hessen",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        # Swagger UI from the app's own build (frontend/build.mjs copies swagger-ui-dist), relative
        # to /api/docs so that it also works below a path prefix; no CDN
        OPENAPI_SWAGGER_UI_URL="../static/dist/swagger-ui/",
        TESTING=settings.TESTING,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False
    app.extensions["platform"] = platform or Platform.create(settings)
    app.extensions["settings"] = settings
    api = PortalApi(app, spec_kwargs={"components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "security": [{"bearer": []}]})
    from app import api as api_package

    api_package.register(api)
    app.before_request(api_package.require_login)
    app.before_request(reject_invalid_text)
    register_error_handlers(app)
    from app.web import register_web

    register_web(app)
    from app.cli import register_cli

    register_cli(app)

    @app.get("/healthz")
    def healthz():  # noqa: ANN202
        return {"status": "ok"}

    return app
