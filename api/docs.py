"""/docs (Swagger UI) and /redoc with pinned assets: exact versions from the jsDelivr CDN, each
with its Subresource Integrity hash, under a Content-Security-Policy that allows those scripts
and the one inline initializer (by its hash) and nothing else.

Why not self-hosted: the PyPI bundle (swagger-ui-bundle 1.1.0) ships Swagger UI 4.15.5 (2022),
two majors behind. To move to a new version: `npm pack swagger-ui-dist@X redoc@Y`, then
`openssl dgst -sha384 -binary FILE | base64` for each file below.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json

from fastapi import FastAPI
from starlette.responses import HTMLResponse

CDN = "https://cdn.jsdelivr.net"
SWAGGER_JS = (
    f"{CDN}/npm/swagger-ui-dist@5.32.4/swagger-ui-bundle.js",
    "sha384-FgJpbEfGqpFeiFJh0+HNvyohx84XMd+IwgPyxJxjuDFMHVYmoFqrDEJNrVFexwA0",
)
SWAGGER_CSS = (
    f"{CDN}/npm/swagger-ui-dist@5.32.4/swagger-ui.css",
    "sha384-AHNbXeU7DPcgcihnwKYc3FOT0hTfhEwVFc2JRxxF5S/mplUdt/7G1g6nIblzENrX",
)
REDOC_JS = (
    f"{CDN}/npm/redoc@2.5.1/bundles/redoc.standalone.js",
    "sha384-up2uPEo+8XzxuLXKGY4DOk79DbbRclvlcx22QZ60aPWQf8LW69XJ8BWzLFewC05H",
)


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def _csp(inline_script: str, *, workers: bool = False) -> str:
    # Swagger UI and ReDoc set inline style attributes (React), hence style-src 'unsafe-inline';
    # scripts are the pinned bundle and the initializer's hash only.
    parts = [
        "default-src 'none'",
        f"script-src {CDN} {_sha256(inline_script)}",
        f"style-src {CDN} 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
    if workers:
        parts.append("worker-src blob:")
    return "; ".join(parts)


def _page(title: str, head: str, body: str, inline_script: str, csp: str) -> HTMLResponse:
    page = (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>{head}</head>"
        f"<body>{body}<script>{inline_script}</script></body></html>"
    )
    return HTMLResponse(page, headers={"Content-Security-Policy": csp})


def install_docs(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    title = app.title
    swagger_init = (
        "window.ui = SwaggerUIBundle({url: "
        + json.dumps(openapi_url)
        + ", dom_id: '#swagger-ui', validatorUrl: null, deepLinking: true,"
        " presets: [SwaggerUIBundle.presets.apis]});"
    )
    redoc_init = (
        "Redoc.init(" + json.dumps(openapi_url) + ", {}, document.getElementById('redoc'));"
    )

    def tag(kind: str, asset: tuple[str, str]) -> str:
        url, sri = asset
        if kind == "css":
            return f"<link rel='stylesheet' href='{url}' integrity='{sri}' crossorigin='anonymous'>"
        return f"<script src='{url}' integrity='{sri}' crossorigin='anonymous'></script>"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return _page(
            f"{title} - Swagger UI",
            tag("css", SWAGGER_CSS),
            "<div id='swagger-ui'></div>" + tag("js", SWAGGER_JS),
            swagger_init,
            _csp(swagger_init),
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _page(
            f"{title} - ReDoc",
            "",
            "<div id='redoc'></div>" + tag("js", REDOC_JS),
            redoc_init,
            _csp(redoc_init, workers=True),
        )
