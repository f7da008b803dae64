"""What the HTTP adapters share: one POST, and a provider's answer sorted into taken, try
again later (no answer, 408, 429, 5xx) or refused (any other 4xx, with the provider's reason)."""

from typing import Any

import requests

from messaging.channels import SendError

TRANSIENT_STATUSES = {408, 425, 429}


def post_json(
    url: str, payload: dict[str, Any], headers: dict[str, str], timeout: float
) -> dict[str, Any]:
    try:
        response = requests.post(url, json=payload, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise SendError(type(exc).__name__, transient=True) from None
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if response.ok:
        return answer
    raise SendError(
        _reason(answer, response.status_code),
        transient=response.status_code >= 500 or response.status_code in TRANSIENT_STATUSES,
    )


def _reason(answer: dict[str, Any], status_code: int) -> str:
    """The provider's own words, kept short: ``<code>: <message>``."""
    error = answer.get("error")
    if isinstance(error, dict):
        code = error.get("code", status_code)
        text = error.get("message") or error.get("title") or ""
        return f"{code}: {text}"[:200]
    return f"HTTP {status_code}"
