"""The shape of the code: no module over 400 lines, and one module alone imports ``stripe``."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_PACKAGE_CODE = {"tests", "migrations", "bench", ".venv", "node_modules"}
MAX_LINES = 400


def _modules() -> list[Path]:
    return [
        path
        for path in sorted(ROOT.rglob("*.py"))
        if not NOT_PACKAGE_CODE.intersection(path.relative_to(ROOT).parts)
    ]


def test_no_module_is_over_400_lines():
    too_long = {
        path.relative_to(ROOT).as_posix(): n
        for path in _modules()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert too_long == {}


def test_only_the_stripe_adapter_imports_stripe():
    importers = set()
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            if any(name == "stripe" or name.startswith("stripe.") for name in names):
                importers.add(path.relative_to(ROOT).as_posix())
    assert importers == {"sponsorship/payments/stripe_gateway.py"}
