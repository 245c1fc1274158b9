"""``/api/docs/``: interactive API documentation served from local files (no CDN).

A small page reads ``/api/openapi.json`` and lists every operation, with a form to try each one
with your token. Public, like the OpenAPI document itself: neither holds any data.
"""

from __future__ import annotations

from flask import Blueprint, send_from_directory

bp = Blueprint("api-docs-page", __name__, url_prefix="/api/docs", static_folder="static")

#: The page runs only its own script and stylesheet and talks only to this site's API.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


@bp.after_request
def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@bp.get("/")
def docs_page():
    return send_from_directory(bp.static_folder, "docs.html", max_age=0)
