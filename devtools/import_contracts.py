"""An import-linter contract for the base modules (``config.py``, ``extensions.py``, …).

import-linter's graph holds packages only, so the top-level modules at the bottom of the layers
are checked here from their source: each may import the standard library, third-party packages
and the other base modules, never one of Payung's packages (``lint-imports``, ``make lint``).
"""

import ast
from pathlib import Path

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output

ROOT = Path(__file__).resolve().parent.parent


class BaseModulesContract(Contract):
    type_name = "base_modules"

    modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        packages = {module.split(".")[0] for module in graph.modules}
        broken = []
        for name in self.modules:  # type: ignore[attr-defined]
            tree = ast.parse((ROOT / f"{name}.py").read_text(), filename=f"{name}.py")
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    targets = [node.module]
                else:
                    continue
                for target in targets:
                    if target.split(".")[0] in packages:
                        broken.append((name, node.lineno, target))
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for name, line, target in check.metadata["broken"]:
            output.print_error(f"{name}.py:{line} imports {target}, a package above the base")
            output.new_line()
