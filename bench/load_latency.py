"""Latency by kind of page from ``bench/load_mix.lua``'s samples (``LOAD_SAMPLES``), for
``bench.load_run``: percentiles over the whole mix and per kind, from when each request was sent
and, in a paced run, from its slot in the timetable (which also counts the wait for a free
connection: the honest figure at a fixed offered load)."""

import math
from pathlib import Path
from typing import Any


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0–100) of ``values``, which must not be empty."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share / 100 * len(ordered)) - 1)]


def spread(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": percentile(values, 50),
        "p95_ms": percentile(values, 95),
        "p99_ms": percentile(values, 99),
        "max_ms": max(values),
        "mean_ms": sum(values) / len(values),
    }


def read_samples(path: Path) -> dict[str, Any]:
    """Overall and per-kind spreads, from send and from slot, with each kind's share of the
    requests and of the slowest 1 %."""
    rows = []
    for line in path.read_text().splitlines():
        kind, status, from_send, from_slot = line.split("\t")
        rows.append((kind, int(status), float(from_send), float(from_slot)))
    if not rows:
        return {"requests": 0, "kinds": {}}
    cut = percentile([row[3] for row in rows], 99)
    slowest = [row for row in rows if row[3] >= cut]
    result: dict[str, Any] = {
        "requests": len(rows),
        "from_send": spread([row[2] for row in rows]),
        "from_slot": spread([row[3] for row in rows]),
        "kinds": {},
    }
    for kind in sorted({row[0] for row in rows}):
        mine = [row for row in rows if row[0] == kind]
        result["kinds"][kind] = {
            "share": len(mine) / len(rows),
            "share_of_slowest_1pct": sum(row[0] == kind for row in slowest) / len(slowest),
            "errors": sum(row[1] >= 400 for row in mine),
            "from_send": spread([row[2] for row in mine]),
            "from_slot": spread([row[3] for row in mine]),
        }
    return result


def kinds_table(samples: dict[str, Any], key: str = "from_send") -> str:
    lines = [
        "| kind | share | share of slowest 1 % | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, row in sorted(samples["kinds"].items(), key=lambda item: -item[1][key]["p99_ms"]):
        figures = row[key]
        lines.append(
            f"| {kind} | {row['share']:.0%} | {row['share_of_slowest_1pct']:.0%} "
            f"| {figures['p50_ms']:.1f} | {figures['p95_ms']:.1f} | {figures['p99_ms']:.1f} "
            f"| {figures['max_ms']:.1f} |"
        )
    return "\n".join(lines)
