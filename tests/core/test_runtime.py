"""A production process freezes what building the app made, once; development and tests never
(their processes build an app per test and must collect them). Run in fresh interpreters: a
freeze lasts as long as its process."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import gc, json, sys
from app import create_app
config = {"ENV_NAME": sys.argv[1], "SECRET_KEY": "x", "FIELD_KEY": "x", "LOOKUP_KEY": "x",
          "DATABASE_URL": "sqlite://", "GC_FREEZE_AGAIN_AFTER_S": 0.2}
create_app(config)
first = gc.get_freeze_count()
create_app(config)  # a second app in the same process: no second freeze at build
import time; time.sleep(0.6)  # GC_FREEZE_AGAIN_AFTER_S: the second app's objects frozen
print(json.dumps([first, gc.get_freeze_count()]))
"""


def frozen_counts(env_name: str) -> list[int]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, env_name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [int(n) for n in run.stdout.strip().splitlines()[-1].strip("[]").split(",")]


def test_production_freezes_what_the_app_is_made_of_once_then_again():
    at_build, later = frozen_counts("production")
    assert at_build > 10_000  # modules, the app, mappers: frozen
    assert later > at_build  # the second freeze took what came after (the second app)


@pytest.mark.parametrize("env_name", ["development", "testing"])
def test_development_and_tests_never_freeze(env_name):
    assert frozen_counts(env_name) == [0, 0]
