"""Server CPU per kind of request, from inside gunicorn: a config file of server hooks, and the
summary of what they wrote.

    GUNICORN_CMD_ARGS="-c bench/request_cpu.py" .venv/bin/python -m bench.load_run …
    .venv/bin/python -m bench.request_cpu

Each gunicorn worker adds up the CPU time (``time.process_time``) between ``pre_request`` and
``post_request`` per kind of request (the load mix's kinds, by path and query string), and writes
its totals to ``bench/out/request-cpu-<pid>.json`` when it exits, with the process's whole CPU
time. The summary adds up the files of workers that served Payung (not the reference catalog's)
and empties the folder of them. What a request costs outside the hooks (accepting the
connection, the collector between answers) is in the process's total, not in a kind.
"""

import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
_totals: defaultdict[str, list[float]] = defaultdict(lambda: [0, 0.0])


def kind(path: str, query: str, method: str) -> str:
    if path == "/pekerja" and "page=" in query:
        return "directory, pages 2-400"
    if path == "/pekerja":
        return "directory, text search" if "q=" in query else "directory"
    if path == "/klaim":
        return f"claim ({method})"
    if path == "/paket":
        return "bundle catalogue"
    if path.startswith("/paket/"):
        return "bundle page"
    return "reference catalog" if path.startswith("/catalog") else path


def pre_request(worker: Any, req: Any) -> None:
    req.cpu_started = time.process_time()


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    total = _totals[kind(req.path, req.query or "", req.method)]
    total[0] += 1
    total[1] += time.process_time() - req.cpu_started


def worker_exit(server: Any, worker: Any) -> None:
    OUT.mkdir(exist_ok=True)
    report = {"process": time.process_time(), "kinds": dict(_totals)}
    (OUT / f"request-cpu-{os.getpid()}.json").write_text(json.dumps(report))


def main() -> int:
    kinds: defaultdict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    process = 0.0
    for file in OUT.glob("request-cpu-*.json"):
        report = json.loads(file.read_text())
        file.unlink()
        if set(report["kinds"]) <= {"reference catalog", "/"}:
            continue  # a worker of the reference catalog's server
        process += report["process"]
        for name, (n, cpu) in report["kinds"].items():
            kinds[name][0] += n
            kinds[name][1] += cpu
    requests = sum(n for n, _ in kinds.values())
    if not requests:
        print("no reports: run gunicorn with -c bench/request_cpu.py first", file=sys.stderr)
        return 1
    in_hooks = sum(cpu for _, cpu in kinds.values())
    print(f"{requests:,} requests; CPU a request: {process * 1000 / requests:.2f} ms in all, "
          f"{in_hooks * 1000 / requests:.2f} ms between the hooks\n")  # fmt: skip
    print("| kind | requests | CPU a request, ms | share of the CPU in the hooks |")
    print("|---|---|---|---|")
    for name, (n, cpu) in sorted(kinds.items(), key=lambda item: -item[1][1]):
        print(f"| {name} | {n:,.0f} | {cpu * 1000 / n:.2f} | {cpu / in_hooks:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
