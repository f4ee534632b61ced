"""/api/docs renders Swagger UI from the app's own files: no request leaves the machine
(administration networks often reach no CDN)."""

from __future__ import annotations

from urllib.parse import urlparse


def test_api_docs_render_without_any_external_request(page, live_server):  # noqa: ANN001
    external: list[str] = []

    def only_local(route) -> None:  # noqa: ANN001
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    response = page.goto("/api/docs")
    assert response.status == 200
    page.locator(".swagger-ui .info .title").get_by_text("Förderportal Digitalisierung Hessen").wait_for()
    page.locator(".swagger-ui .opblock-tag").first.wait_for()  # operations from /api/openapi.json
    assert page.locator(".swagger-ui .opblock-tag").count() >= 5
    assert external == []
    assert page.js_errors == []
