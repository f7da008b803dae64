"""Page weight: the compressed bytes a worker's phone downloads for each worker page.

For every worker page and for gzip and brotli (and uncompressed, for reference):

- **first render**: the HTML and the stylesheets it links, as served (what must arrive before
  the page can be used; no page needs JavaScript);
- **cold**: first render plus every other same-origin file the page references (scripts,
  images, icons, and images a stylesheet refers to), each compressed as Payung serves it;
- **warm**: the HTML alone (static files carry ``?v=<hash>`` and are cached for a year).

Bytes are response bodies as served by the app (HTTP headers not counted). The same
``measure`` is used by ``tests/test_page_weight.py``, which pins the budgets.

    .venv/bin/python -m bench.page_weight            # prints the table
    .venv/bin/python -m bench.page_weight --record   # and records it in bench/README.md
"""

import argparse
import gzip
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import brotli

ENCODINGS = ("gzip", "br")
ALL_ENCODINGS = ("identity", *ENCODINGS)
KB = 1024
BUDGET_FIRST_VISIT_KLAIM = 14 * KB
BUDGET_COLD = 30 * KB
BUDGET_WARM = 10 * KB
README = Path(__file__).with_name("README.md")
HEADING = "## Page weight: worker pages, compressed, cold and warm"

_TAG = re.compile(r"<(link|script|img)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r'\b(href|src|rel)="([^"]*)"', re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")


@dataclass(frozen=True)
class Weight:
    """One page in one encoding, in bytes as served."""

    path: str
    encoding: str
    html: int
    styles: int
    others: int
    compressed: bool  # every text answer came with the encoding asked for

    @property
    def first_render(self) -> int:
        return self.html + self.styles

    @property
    def cold(self) -> int:
        return self.html + self.styles + self.others

    @property
    def warm(self) -> int:
        return self.html


def decode(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "br":
        return bytes(brotli.decompress(body))
    return body


def references(html: str, base: str) -> tuple[list[str], list[str]]:
    """Same-origin stylesheets, and every other same-origin file a page references."""
    styles: list[str] = []
    others: list[str] = []
    for tag, attrs in _TAG.findall(html):
        found = {name.lower(): value for name, value in _ATTR.findall(attrs)}
        url = found.get("src") if tag.lower() in ("script", "img") else found.get("href")
        if not url or urlsplit(url).netloc or url.startswith(("data:", "#")):
            continue
        url = urljoin(base, url)
        rel = found.get("rel", "").lower().split()
        if tag.lower() == "link" and "stylesheet" in rel:
            styles.append(url)
        elif tag.lower() != "link" or {"icon", "preload", "modulepreload"} & set(rel):
            others.append(url)
    return list(dict.fromkeys(styles)), list(dict.fromkeys(others))


def _fetch(client: Any, url: str, encoding: str) -> tuple[int, bytes, bool]:
    """Bytes as served, the decoded body, and whether a compressible answer was compressed."""
    response = client.get(url, headers={"Accept-Encoding": encoding})
    try:
        assert response.status_code == 200, f"{url}: {response.status_code}"
        body = response.get_data()
        served = response.headers.get("Content-Encoding")
        ok = encoding == "identity" or served == encoding or len(body) < 500
        ok = ok or not response.mimetype.startswith(("text/", "application/json", "image/svg"))
        return len(body), decode(body, served), ok
    finally:
        response.close()


def measure(client: Any, path: str, encoding: str) -> Weight:
    """``path`` as a browser with an empty cache fetches it, asking for ``encoding``."""
    html_bytes, html, compressed = _fetch(client, path, encoding)
    styles, others = references(html.decode(), path)
    style_bytes = other_bytes = 0
    seen: set[str] = set()
    for url in styles:
        size, sheet, ok = _fetch(client, url, encoding)
        style_bytes += size
        compressed = compressed and ok
        seen.add(url)
        for ref in _CSS_URL.findall(sheet.decode()):
            if not ref.startswith("data:") and not urlsplit(ref).netloc:
                others.append(urljoin(url, ref))
    for url in dict.fromkeys(others):
        if url in seen:
            continue
        seen.add(url)
        size, _, ok = _fetch(client, url, encoding)
        other_bytes += size
        compressed = compressed and ok
    return Weight(path, encoding, html_bytes, style_bytes, other_bytes, compressed)


def measure_all(client: Any, path: str) -> dict[str, Weight]:
    return {encoding: measure(client, path, encoding) for encoding in ALL_ENCODINGS}


# --- the worker's pages -----------------------------------------------------------------------


def worker_pages(
    make_client: Callable[[], Any], line: dict[str, Any], otp_sent_to: Callable[[str], str]
) -> Iterator[tuple[str, str, dict[str, Weight]]]:
    """Every worker page, reached as a worker does: (label, path, weights per encoding).
    ``line`` is a claimable bundle (``tests.fulfillment.test_claim.build_line``)."""
    visitor = make_client()
    yield "claim: bundle code", "/klaim", measure_all(visitor, "/klaim")
    yield "sign-in: phone", "/masuk/pekerja", measure_all(visitor, "/masuk/pekerja")
    signing_in = make_client()
    response = signing_in.post("/masuk/pekerja", data={"phone": line["phone"]})
    assert response.status_code == 302, response.status_code
    yield "sign-in: code", "/masuk/pekerja/kode", measure_all(signing_in, "/masuk/pekerja/kode")
    response = visitor.post("/klaim", data={"code": line["code"]})
    assert response.status_code == 302, response.status_code
    yield "claim: one-time code", "/klaim/kode", measure_all(visitor, "/klaim/kode")
    response = visitor.post("/klaim/kode", data={"code": otp_sent_to(line["phone"])})
    assert response.status_code == 302, response.status_code
    claim = line["claim_id"]
    for label, path in (
        ("worker home", "/saya"),
        ("claimed bundle", f"/saya/paket/{claim}"),
        ("membership card", f"/saya/paket/{claim}/kartu"),
        ("my details", "/saya/data"),
        ("phone number", "/saya/nomor"),
        ("heirs", "/saya/ahli-waris"),
    ):
        yield label, path, measure_all(visitor, path)


def table(rows: list[tuple[str, str, dict[str, Weight]]]) -> str:
    def kb(n: int) -> str:
        return f"{n / KB:.1f}"

    lines = [
        "| page | path | first render gzip / br | cold gzip / br | warm gzip / br "
        "| uncompressed cold / warm |",
        "|---|---|---|---|---|---|",
    ]
    for label, path, weights in rows:
        gz, br, raw = weights["gzip"], weights["br"], weights["identity"]
        lines.append(
            f"| {label} | `{path}` | {kb(gz.first_render)} / {kb(br.first_render)} "
            f"| {kb(gz.cold)} / {kb(br.cold)} | {kb(gz.warm)} / {kb(br.warm)} "
            f"| {kb(raw.cold)} / {kb(raw.warm)} |"
        )
    return "\n".join(lines)


def run() -> list[tuple[str, str, dict[str, Weight]]]:
    from app import create_app
    from bench.common import bench_config
    from extensions import db
    from tests.conftest import IsolatedClient
    from tests.fulfillment.test_claim import build_line, otp_sent_to

    with bench_config(None, WTF_CSRF_ENABLED=False, DEV_OUTBOX=False) as config:
        app = create_app(config)
        app.test_client_class = IsolatedClient
        with app.app_context():
            db.create_all()
            line = build_line()
            rows = list(worker_pages(app.test_client, line, otp_sent_to))
            db.session.remove()
            db.engine.dispose()
    return rows


def record(text: str) -> None:
    from bench.common import write_section

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = f"""{HEADING}

What: the bytes a worker's phone downloads for each worker page, as served by the app (response
bodies; HTTP headers not counted), for gzip and brotli. *First render*: the HTML and the
stylesheets it links (no worker page needs JavaScript). *Cold*: first render plus every other
same-origin file the page references (images, icons, images named in the stylesheet).
*Warm*: the HTML alone (static files carry `?v=<hash>` and are cached for a year). KB = 1,024
bytes. Budgets (issue 16, part 5, pinned by `tests/test_page_weight.py`): `/klaim` cold
≤ 14 KB, every worker page ≤ 30 KB cold and ≤ 10 KB warm.

Command: `.venv/bin/python -m bench.page_weight --record` ({when}, commit {commit}; SQLite,
production-like settings without the dev outbox).

{text}

Before (commit 0ea9495, issue 16's starting point) nothing was compressed: the *uncompressed*
column is what every page cost then, 40–43 KB cold (every worker page over the 30 KB budget, the
stylesheet alone 34.5 KB) and 3.9–6.7 KB warm. Compressed, the stylesheet is 8.1 KB (gzip, level
9) or 7.2 KB (brotli, quality 11), made once per version; pages are compressed per request
(gzip 6, brotli 5). HTTP headers add about 0.6 KB per page and 0.8 KB per static file (the test
client's; gunicorn adds `Date` and `Server`): `/klaim`'s first render with headers is about
11.4 KB (gzip), within the 14 KB a first round trip carries, in two requests (HTML, then the
stylesheet; the icon and logo do not block rendering).
"""
    write_section(README, HEADING, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--record", action="store_true", help="write bench/README.md")
    args = parser.parse_args()
    text = table(run())
    print(text)
    if args.record:
        record(text)


if __name__ == "__main__":
    main()
