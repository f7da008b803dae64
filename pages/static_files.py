"""Static files that browsers keep: every ``url_for("static", ...)`` carries the file's version
(``?v=`` and the start of its SHA-256), and a request for the current version is cached for a
year (a changed file gets a new address). Requests without it, or for an old version, are
cached for an hour. ``/favicon.ico`` answers for pages without the layout (PDFs, CSVs), whose
browsers ask for it on their own.

Content-hashed file names (fingerprinting at build time) can replace this later.
"""

import hashlib
import os
from typing import Any

from flask import Flask, current_app, request
from flask.globals import request_ctx
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from accounts.access import public
from pages.compression import register_compression

VERSION_ARG = "v"
IMMUTABLE = "public, max-age=31536000, immutable"
UNVERSIONED = "public, max-age=3600"
FAVICON = "img/favicon.svg"
FAVICON_MAX_AGE_S = 86_400

# path -> (modification time, version): a file is hashed again only when it changes.
_versions: dict[str, tuple[int, str]] = {}


def file_version(filename: str) -> str | None:
    """The version of a file under the static folder, or None if there is no such file."""
    folder = current_app.static_folder
    path = safe_join(folder, filename) if folder and filename else None
    if path is None:
        return None
    try:
        modified = os.stat(path).st_mtime_ns
    except OSError:
        return None
    known = _versions.get(path)
    if known and known[0] == modified:
        return known[1]
    with open(path, "rb") as file:
        version = hashlib.sha256(file.read()).hexdigest()[:12]
    _versions[path] = (modified, version)
    return version


def _add_version(endpoint: str, values: dict[str, Any]) -> None:
    if endpoint == "static" and VERSION_ARG not in values:
        version = file_version(str(values.get("filename") or ""))
        if version:
            values[VERSION_ARG] = version


def _cache_static(response: Response) -> Response:
    # The request context, not the request proxy: most answers stop here (issue 16).
    if (
        request_ctx._get_current_object().request.endpoint != "static"  # type: ignore[attr-defined]
        or response.status_code not in (200, 304)
    ):
        return response
    filename = (request.view_args or {}).get("filename", "")
    wanted = request.args.get(VERSION_ARG)
    current = wanted and wanted == file_version(filename)
    response.headers["Cache-Control"] = IMMUTABLE if current else UNVERSIONED
    return response


@public
def favicon() -> Response:
    # Read whole (a few hundred bytes), not streamed: no open file is left to whoever forgets
    # to close the response.
    assert current_app.static_folder is not None
    path = safe_join(current_app.static_folder, FAVICON)
    assert path is not None
    with open(path, "rb") as file:
        icon = file.read()
    response = Response(icon, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = f"public, max-age={FAVICON_MAX_AGE_S}"
    return response


def register_static_files(app: Flask) -> None:
    app.url_defaults(_add_version)
    app.after_request(_cache_static)
    register_compression(app)  # runs before _cache_static: compressed files keep its headers
    app.add_url_rule("/favicon.ico", "favicon", favicon)
