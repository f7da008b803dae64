"""The load run's report (``bench.load_run``), and latency by kind of page from the samples
of ``bench/load_mix.lua`` (``LOAD_SAMPLES``): percentiles over the whole mix and per kind, from
when each request was sent and, in a paced run, from its slot in the timetable (which also
counts the wait for a free connection: the honest figure at a fixed offered load)."""

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


def print_report(result: dict[str, Any]) -> None:
    hello_rps = result["hello"]["rps"]
    threads = result["wrk"]
    print(f"\nSaturated, closed loop ({threads}, every connection sends again on each answer):\n")
    print("| route | req/s | vs hello | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|")
    rows = {
        "hello world (baseline)": result["hello"],
        "**mix** (issue 16 goal 3)": result["mix"],
        "reference catalog alone (control)": result["reference_catalog_closed"],
        "mix, one connection per thread (by kind below)": result["mix_by_kind"],
    }
    rows.update({f"alone: {name}": row for name, row in result["pages"].items()})
    for name, row in rows.items():
        print(
            f"| {name} | {row['rps']:.0f} | {row['rps'] / hello_rps:.0%} | {row['p50_ms']:.1f} "
            f"| {row['p95_ms']:.1f} | {row['p99_ms']:.1f} | {row['errors']} |"
        )
    mix, control = result["mix"], result["reference_catalog_closed"]
    reference_p50 = sum(result["reference_catalog_p50_1_ms"]) / 2
    print(
        f"\nreference catalog p50 at 1 connection (before and after the mix): "
        f"{' and '.join(f'{p:.2f}' for p in result['reference_catalog_p50_1_ms'])} ms"
    )
    print(f"goal as written: mix p99 ÷ that p50 = {mix['p99_ms'] / reference_p50:.1f} (≤ 10)")
    print(f"same load: mix p99 ÷ the reference catalog's own p99 at {threads} = "
          f"{mix['p99_ms'] / control['p99_ms']:.2f}; the reference catalog's p99 there ÷ its "
          f"1-connection p50 = {control['p99_ms'] / reference_p50:.1f}")  # fmt: skip
    print("\nMix by kind of page, saturated (ms from send):\n")
    print(kinds_table(result["mix_by_kind"]["samples"]))
    for run, paced in result["paced"].items():
        figures = paced["samples"].get("from_slot")
        reached = paced["rps"] / paced["offered_rps"]
        print(
            f"\n{run} of the saturated mix, open timetable: offered {paced['offered_rps']:.0f} "
            f"req/s, served {paced['rps']:.0f} ({reached:.0%}), errors {paced['errors']}"
        )
        if figures:
            print(f"latency from slot: p50 {figures['p50_ms']:.1f}, p95 {figures['p95_ms']:.1f}, "
                  f"p99 {figures['p99_ms']:.1f} ms = {figures['p99_ms'] / reference_p50:.1f} × "
                  "the reference 1-connection p50\n")  # fmt: skip
            print(kinds_table(paced["samples"], "from_slot"))
        control = paced.get("reference", {}).get("samples", {}).get("from_slot")
        if figures and control:
            print(f"\ncontrol, the reference catalog alone on the same timetable "
                  f"({paced['reference']['rps']:.0f} req/s, errors {paced['reference']['errors']}):"
                  f" p50 {control['p50_ms']:.1f}, p95 {control['p95_ms']:.1f}, p99 "
                  f"{control['p99_ms']:.1f} ms = {control['p99_ms'] / reference_p50:.1f} × its "
                  f"1-connection p50; the mix's p99 ÷ the control's p99 = "
                  f"{figures['p99_ms'] / control['p99_ms']:.2f}")  # fmt: skip
    print(f"\njobs (the claim's SMS delivery): {result['jobs']}")
    print(f"mix statuses: {mix['statuses']}; claim POSTs: {mix['claim_posts']}; "
          f"one-time codes sent (all runs): {result['one_time_codes_sent']}")  # fmt: skip
