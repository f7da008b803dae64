"""A production process freezes what building the app made, once, and runs its full collections
between answers; development and tests do neither (their processes build an app per test and
must collect them). Run in fresh interpreters: both last as long as their process."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Before every probe: the app's settings for the environment named in its first argument.
APP = """
import gc, json, sys, weakref
from accounts.access import public
from app import create_app

def settings(**extra):
    return {"ENV_NAME": sys.argv[1], "SECRET_KEY": "x", "FIELD_KEY": "x", "LOOKUP_KEY": "x",
            "DATABASE_URL": "sqlite://", "RATELIMIT_STORAGE_URI": "memory://", **extra}
"""

PROBE = """
config = settings(GC_FREEZE_AGAIN_AFTER_S=0.2)
create_app(config)
first = gc.get_freeze_count()
create_app(config)  # a second app in the same process: no second freeze at build
import time; time.sleep(0.6)  # GC_FREEZE_AGAIN_AFTER_S: the second app's objects frozen
print(json.dumps([first, gc.get_freeze_count()]))
"""


def run_probe(source: str, env_name: str, *more: str) -> Any:
    """Run ``APP`` then ``source`` in a fresh interpreter (arguments: ``env_name``, then
    ``more``); what it printed last, as JSON."""
    run = subprocess.run(
        [sys.executable, "-c", APP + source, env_name, *more],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


def frozen_counts(env_name: str) -> list[int]:
    return [int(n) for n in run_probe(PROBE, env_name)]


def test_production_freezes_what_the_app_is_made_of_once_then_again():
    at_build, later = frozen_counts("production")
    assert at_build > 10_000  # modules, the app, mappers: frozen
    assert later > at_build  # the second freeze took what came after (the second app)


@pytest.mark.parametrize("env_name", ["development", "testing"])
def test_development_and_tests_never_freeze(env_name):
    assert frozen_counts(env_name) == [0, 0]


# A view that makes cyclic garbage and keeps some of it, as a request filling a cache does: the
# collector's full collections are recorded as made inside the view or not.
CHURN = """
app = create_app(settings())
state = {"in_view": False}
full = []
kept = []
gc.callbacks.append(lambda phase, info: phase == "start" and info["generation"] == 2
                    and full.append(state["in_view"]))

@app.route("/churn")
@public
def churn():
    state["in_view"] = True
    for i in range(60_000):
        node = [i]
        node.append(node)
        if i % 4 == 0:
            kept.append(node)
    state["in_view"] = False
    return "ok"

client = app.test_client()
statuses = [client.get("/churn", base_url="https://localhost", buffered=True).status_code
            for _ in range(12)]
print(json.dumps({"statuses": statuses, "full": full, "threshold": gc.get_threshold()}))
"""


def full_collections(env_name: str) -> dict[str, Any]:
    return dict(run_probe(CHURN, env_name))


def test_production_runs_full_collections_after_answers_never_inside_a_request():
    seen = full_collections("production")
    assert set(seen["statuses"]) == {200}
    assert seen["full"], "no full collection at all: garbage would pile up"
    assert not any(seen["full"]), seen["full"]  # every one after an answer had gone
    assert seen["threshold"][2] > 1_000_000  # CPython starts none by itself once serving


def test_development_keeps_cpythons_own_schedule():
    seen = full_collections("development")
    assert any(seen["full"])  # the same requests, collected in the middle of the view
    assert seen["threshold"][2] < 100


# What survives a full collection between answers is frozen, so the next one walks only what
# was kept since; every GC_WHOLE_HEAP_EVERY-th unfreezes first, so a cycle among frozen objects
# that died since is still freed. The probe freezes a cycle, drops it, and serves on.
SWEEP = """
app = create_app(settings(GC_WHOLE_HEAP_EVERY=int(sys.argv[2])))
full = []
gc.callbacks.append(lambda phase, info: phase == "stop" and info["generation"] == 2
                    and full.append(info["collected"]))

@app.route("/churn")
@public
def churn():
    for i in range(30_000):
        node = [i]
        node.append(node)
    return "ok"

client = app.test_client()
def serve_until(collections):
    goal = len(full) + collections
    for _ in range(400):
        if len(full) >= goal:
            return
        client.get("/churn", base_url="https://localhost", buffered=True)
    raise SystemExit("too few full collections")

class Node:
    pass

serve_until(1)
cycle = Node()
cycle.itself = cycle
alive = weakref.ref(cycle)
serve_until(1)
tracked = any(o is cycle for o in gc.get_objects())  # False once frozen
del cycle
serve_until(6)
print(json.dumps({"tracked_after_a_collection": tracked, "cycle_freed": alive() is None,
                  "frozen": gc.get_freeze_count()}))
"""


@pytest.mark.parametrize("every", [3, 1_000])
def test_survivors_are_frozen_and_every_so_often_everything_is_walked(every):
    seen = run_probe(SWEEP, "production", str(every))
    assert seen["tracked_after_a_collection"] is False  # frozen by the collection after it
    assert seen["frozen"] > 10_000
    # A frozen cycle that died is freed by the next whole walk, and only by it.
    assert seen["cycle_freed"] is (every == 3)
