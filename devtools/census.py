"""The shape of the code in numbers, from its own imports (grimp) and source (ast): the census
behind issue 14's before/after note.

    .venv/bin/python devtools/census.py [--root DIR]

``--root`` is a checkout of Payung (default: this one), so the same script measures an older
commit checked out elsewhere (``git worktree add /tmp/before <commit>``). It prints:

- modules side by side in each package folder (the largest folders, and the maximum);
- the largest modules, in lines;
- import cycles between modules (strongly connected groups of the module import graph), and
  pairs of top-level packages that import each other both ways;
- imports inside functions (outside tests, migrations and benchmarks);
- production code importing the sandbox or the dev tools;
- the package-to-package import edges, and for one payment the packages the pay page's module
  reaches through imports and the shortest import chain from it to the claim page's module.

Everything is static: the payment line counts imports, not calls at run time.
"""

import argparse
import ast
import itertools
import sys
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

import grimp

NOT_PRODUCTION = {"tests", "migrations", "bench", "devtools", "sandbox", "node_modules"}
DEV_ONLY = ("sandbox", "devtools")
# The pay page and the claim page, wherever the commit keeps them (first one found).
PAY_PAGE = ("sponsorship.payments.views", "sponsorship.checkout_views")
CLAIM_PAGE = ("fulfillment.claims.views", "fulfillment.claim_views")
TOP = 12


def production_files(root: Path) -> list[Path]:
    return [
        path
        for path in sorted(root.rglob("*.py"))
        if not {*path.relative_to(root).parts[:-1]} & NOT_PRODUCTION
        and not path.relative_to(root).parts[0].startswith(".")
    ]


def top_packages(root: Path) -> list[str]:
    return sorted(
        path.name
        for path in root.iterdir()
        if (path / "__init__.py").exists() and path.name not in NOT_PRODUCTION
    )


def layer_ranks() -> dict[str, int]:
    """Each domain package's layer (0 = lowest), from the ``layers`` contract of *this*
    checkout's pyproject.toml, so that an older commit is measured against today's order."""
    here = Path(__file__).resolve().parent.parent
    config = tomllib.loads((here / "pyproject.toml").read_text())
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    layers = contract["layers"][::-1]
    return {name.strip(): rank for rank, layer in enumerate(layers) for name in layer.split("|")}


def package_of(module: str) -> str:
    return module.split(".")[0]


def strongly_connected(nodes: Iterable[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively (the graph has hundreds of modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def imports_in_functions(root: Path, files: list[Path]) -> Counter[str]:
    found: Counter[str] = Counter()
    for path in files:
        tree = ast.parse(path.read_text(), str(path))
        seen: set[int] = set()
        for func in ast.walk(tree):
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(func):
                    if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in seen:
                        seen.add(id(node))
                        found[path.relative_to(root).as_posix()] += 1
    return found


def reachable(start: str, edges: dict[str, set[str]]) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen: set[str] = set()
    frontier = [start]
    while frontier:
        node = frontier.pop()
        for child in edges.get(node, ()):
            if child not in seen:
                seen.add(child)
                frontier.append(child)
    return seen - {start}


def shortest_chain(start: str, goal: str, edges: dict[str, set[str]]) -> list[str] | None:
    previous: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(edges.get(node, ())):
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        if goal in previous:
            chain = [goal]
            while (step := previous[chain[-1]]) is not None:
                chain.append(step)
            return chain[::-1]
        frontier = following
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    sys.path.insert(0, str(root))

    files = production_files(root)
    lines = {
        path.relative_to(root).as_posix(): len(path.read_text().splitlines()) for path in files
    }
    total_lines = sum(lines.values())
    print(f"census of {root}")
    print(f"production modules: {len(files)}, lines: {total_lines}")

    # --- folders ---
    per_folder: Counter[str] = Counter(
        (path.parent.relative_to(root).as_posix() or ".") for path in files
    )
    print(f"\nmodules side by side per package folder (max {max(per_folder.values())}):")
    for folder, n in per_folder.most_common(TOP):
        print(f"  {n:4d}  {folder}/")
    per_top: Counter[str] = Counter()
    for name, n in lines.items():
        per_top[name.split("/")[0] if "/" in name else "(base modules)"] += n
    print("lines per top-level package (share):")
    for package, n in per_top.most_common():
        print(f"  {n:6d}  {100 * n / total_lines:4.1f} %  {package}")

    # --- largest modules ---
    print("\nlargest modules (lines):")
    for name, n in sorted(lines.items(), key=lambda item: -item[1])[:5]:
        print(f"  {n:5d}  {name}")

    # --- import graph ---
    packages = top_packages(root)
    dev = [name for name in DEV_ONLY if (root / name / "__init__.py").exists()]
    graph = grimp.build_graph(*packages, *dev, cache_dir=None)
    production = {m for m in graph.modules if package_of(m) in packages}
    edges: dict[str, set[str]] = defaultdict(set)
    for module in production:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported in production and imported != module:
                edges[module].add(imported)
    cycles = strongly_connected(sorted(production), edges)
    in_cycles = sum(len(group) for group in cycles)
    print(f"\nimport cycles between modules: {len(cycles)} groups, {in_cycles} modules in them")
    for group in cycles:
        shown = ", ".join(group[:8]) + (f", … (+{len(group) - 8})" if len(group) > 8 else "")
        print(f"  {len(group):3d}: {shown}")

    package_edges: Counter[tuple[str, str]] = Counter()
    for module, imported in ((m, i) for m in edges for i in edges[m]):
        a, b = package_of(module), package_of(imported)
        if a != b:
            package_edges[(a, b)] += 1
    two_way = sorted({tuple(sorted(pair)) for pair in package_edges if pair[::-1] in package_edges})
    print(f"top-level packages importing each other both ways: {len(two_way)} pairs")
    for a, b in two_way:
        print(
            f"  {a} <-> {b}  ({package_edges[(a, b)]} module imports one way, "
            f"{package_edges[(b, a)]} the other)"
        )

    # --- imports inside functions ---
    inside = imports_in_functions(root, files)
    print(f"\nimports inside functions: {sum(inside.values())} in {len(inside)} modules")
    for name, n in inside.most_common():
        print(f"  {n:3d}  {name}")

    # --- dev code from production ---
    dev_imports = sorted(
        (module, imported)
        for module in production
        for imported in graph.find_modules_directly_imported_by(module)
        if package_of(imported) in DEV_ONLY
    )
    print(f"\nproduction modules importing the sandbox or dev tools: {len(dev_imports)}")
    for module, imported in dev_imports:
        print(f"  {module} -> {imported}")

    # --- packages and one payment ---
    print(
        f"\npackage-to-package import edges: {len(package_edges)} directed pairs, "
        f"{sum(package_edges.values())} module imports across packages"
    )
    ranks = layer_ranks()
    upward = {
        pair: n
        for pair, n in package_edges.items()
        if pair[0] in ranks and pair[1] in ranks and ranks[pair[0]] <= ranks[pair[1]]
    }
    print(
        f"  against today's layers (upward or across consoles): {len(upward)} pairs, "
        f"{sum(upward.values())} module imports"
        + "".join(f"\n    {a} -> {b}: {n}" for (a, b), n in sorted(upward.items()))
    )
    pay = next((m for m in PAY_PAGE if m in production), None)
    claim = next((m for m in CLAIM_PAGE if m in production), None)
    if pay and claim:
        reached = reachable(pay, edges)
        reached_packages = Counter(package_of(m) for m in reached)
        print(
            f"one payment: the pay page ({pay}) reaches {len(reached)} modules in "
            f"{len(reached_packages)} packages through imports: "
            + ", ".join(f"{p} {n}" for p, n in reached_packages.most_common())
        )
        chain = shortest_chain(pay, claim, edges)
        if chain is None:
            print(f"  no import chain from the pay page to the claim page ({claim})")
        else:
            crossings = sum(package_of(a) != package_of(b) for a, b in itertools.pairwise(chain))
            print(
                f"  shortest import chain to the claim page: {len(chain) - 1} hops, "
                f"{crossings} package crossings: " + " -> ".join(chain)
            )


if __name__ == "__main__":
    main()
