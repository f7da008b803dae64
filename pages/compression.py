"""Compressed answers: HTML, CSS, JavaScript, JSON and SVG go out as brotli or gzip when the
browser accepts it (``Accept-Encoding``, quality values honoured), with ``Vary:
Accept-Encoding`` so that no cache hands a compressed answer to a browser that did not ask.

Left as they are: bodies under ``COMPRESS_MIN_BYTES``, types that are compressed already
(PDF, PNG, JPEG) or not text, answers other than 200, answers with a ``Content-Encoding``, and
streamed answers (CSV downloads are written row by row; buffering them to compress would hold a
whole export in memory). Static files are the one kind of file answer compressed: once per
file version and encoding, at the highest level, kept in memory (a handful of small files),
with the ETag marked per encoding and their cache headers unchanged.
"""

import gzip
from typing import Any

import brotli
from flask import Flask
from flask.globals import request_ctx
from werkzeug.wrappers import Response

from security import add_vary

COMPRESSIBLE = frozenset(
    {
        "text/html",
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/problem+json",
        "image/svg+xml",
    }
)
ENCODINGS = ("br", "gzip")  # preferred first when the browser accepts both equally
# Pages are compressed on every request: quick levels. Static files once: the best levels.
PAGE_LEVELS = {"br": 5, "gzip": 6}
STATIC_LEVELS = {"br": 11, "gzip": 9}
STATIC_CACHE_MAX = 256

# (encoding, ETag of the file) -> compressed bytes; the ETag changes with the file.
_static_cache: dict[tuple[str, str], bytes] = {}


def choose_encoding(accept_encoding: str) -> str | None:
    """The encoding to answer with: the best quality the browser gives one of ours (``*``
    counts for any not named), None for none (``identity`` only, or ``q=0`` for ours)."""
    if not accept_encoding:
        return None
    named: dict[str, float] = {}
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name.strip():
            named[name.strip()] = quality
    wildcard = named.get("*", 0.0)
    best, best_quality = None, 0.0
    for encoding in ENCODINGS:
        quality = named.get(encoding, wildcard)
        if quality > best_quality:
            best, best_quality = encoding, quality
    return best


def compress(data: bytes, encoding: str, levels: dict[str, int]) -> bytes:
    if encoding == "br":
        return bytes(brotli.compress(data, quality=levels["br"]))
    return gzip.compress(data, compresslevel=levels["gzip"], mtime=0)


def _static_body(response: Response, encoding: str) -> bytes:
    etag, _ = response.get_etag()
    key = (encoding, etag or "")
    body = _static_cache.get(key) if etag else None
    if body is None:
        response.direct_passthrough = False
        body = compress(response.get_data(), encoding, STATIC_LEVELS)
        if etag:
            if len(_static_cache) >= STATIC_CACHE_MAX:
                _static_cache.clear()
            _static_cache[key] = body
    else:
        close: Any = getattr(response.response, "close", None)
        if close is not None:
            response.call_on_close(close)  # the open file behind the answer
    return body


def _shorter_than(content_length: str | None, size: int) -> bool:
    """``response.content_length < size`` from the header already read (``content_length``
    reads the headers again, and is None when the header is missing or not a number)."""
    return content_length is not None and content_length.isdigit() and int(content_length) < size


def compress_response(response: Response) -> Response:
    # The headers read once, without werkzeug's exception per missing header (issue 16).
    present: dict[str, str] = {}
    for name, value in response.headers:  # the list itself: ``items()`` yields one by one
        present.setdefault(name.lower(), value)
    mimetype = present.get("content-type", "").partition(";")[0].strip().lower()
    if mimetype not in COMPRESSIBLE:
        return response
    add_vary(response, "Accept-Encoding")
    # The request context itself, not the request and current_app proxies (each read through a
    # proxy raises and catches an AttributeError inside Python 3.11).
    context = request_ctx._get_current_object()  # type: ignore[attr-defined]
    request = context.request
    is_static = request.endpoint == "static"
    if (
        response.status_code != 200
        or "content-encoding" in present
        or (response.is_streamed and not is_static)
        or _shorter_than(present.get("content-length"), context.app.config["COMPRESS_MIN_BYTES"])
        or "no-transform" in present.get("cache-control", "")
    ):
        return response
    encoding = choose_encoding(request.environ.get("HTTP_ACCEPT_ENCODING", ""))
    if encoding is None:
        return response
    if is_static:
        body = _static_body(response, encoding)
    else:
        body = compress(response.get_data(), encoding, PAGE_LEVELS)
    response.direct_passthrough = False
    response.set_data(body)
    response.headers["Content-Encoding"] = encoding
    response.headers.pop("Accept-Ranges", None)  # byte ranges of the file, not of this body
    etag, weak = response.get_etag()
    if etag:
        response.set_etag(f"{etag}-{encoding}", weak=weak)
        response.make_conditional(request)  # a browser revalidating the compressed copy: 304
    return response


def register_compression(app: Flask) -> None:
    app.after_request(compress_response)
