"""Web security that applies to every response: headers, cookies, safe redirects."""

from urllib.parse import urlsplit

from flask import Flask, Response, current_app


def is_safe_next(target: str | None) -> bool:
    """Only our own absolute paths are followed after sign-in: ``/x`` yes, ``//evil`` no."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str) -> str:
    return target if is_safe_next(target) else default


# What live Stripe.js loads besides itself: its own frames (3-D Secure challenges come from
# hooks.stripe.com) and calls to its API. localstripe serves everything from one origin.
LIVE_STRIPE_JS = "js.stripe.com"
LIVE_STRIPE_EXTRA = {
    "script": ["https://*.js.stripe.com"],
    "frame": ["https://*.js.stripe.com", "https://hooks.stripe.com"],
    "connect": ["https://api.stripe.com"],
}


def content_security_policy() -> str:
    stripe: dict[str, list[str]] = {"script": [], "frame": [], "connect": []}
    stripe_js = current_app.config.get("STRIPE_JS_URL")
    if stripe_js:
        parts = urlsplit(stripe_js)
        origin = f"{parts.scheme}://{parts.netloc}"
        extra = LIVE_STRIPE_EXTRA if parts.netloc == LIVE_STRIPE_JS else {}
        for kind, sources in stripe.items():
            sources.extend([origin, *extra.get(kind, [])])
    script_sources = " ".join(["'self'", *stripe["script"]])
    frame_sources = " ".join(stripe["frame"]) or "'none'"
    connect_sources = " ".join(["'self'", *stripe["connect"]])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {script_sources}",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {connect_sources}",
            f"frame-src {frame_sources}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config["SESSION_COOKIE_SECURE"]:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def register_security(app: Flask) -> None:
    if app.config["ENV_NAME"] == "production":
        missing = [k for k in ("SECRET_KEY", "FIELD_KEY", "LOOKUP_KEY") if not app.config.get(k)]
        if missing:
            raise RuntimeError(f"set PAYUNG_{', PAYUNG_'.join(missing)} before starting Payung")
    app.after_request(set_security_headers)
