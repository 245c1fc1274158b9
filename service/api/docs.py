"""``/api/docs/``: interactive API documentation served from local files (no CDN).

A small page reads ``/api/openapi.json`` and lists every operation, with a form to try each one
with your token. Public, like the OpenAPI document itself: neither holds any data.
"""

from __future__ import annotations

from flask import Blueprint, send_from_directory

bp = Blueprint("api-docs-page", __name__, url_prefix="/api/docs", static_folder="static")


@bp.get("/")
def docs_page():
    return send_from_directory(bp.static_folder, "docs.html", max_age=0)
