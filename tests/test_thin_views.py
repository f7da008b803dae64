"""Views are thin (issue 14, item 4): parse, load and authorize, call one service, commit,
render. A view module holds no query (``db.session.*`` other than ``commit``/``rollback``,
``select(``, ``.query``), no ``decrypt`` call, no form class and no template filter: those live
in the package's query/service, ``forms`` and ``filters`` modules. This test reads the source
(no app, no database), so it fails the moment one creeps back in."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_APP_CODE = {"tests", "migrations", "bench", "devtools", "sandbox", ".venv", "node_modules"}
ROUTE_DECORATORS = {"route", "get", "post", "put", "patch", "delete"}
SESSION_CALLS_ALLOWED = {"commit", "rollback"}
FILTER_REGISTRATIONS = {
    "template_filter",
    "app_template_filter",
    "add_template_filter",
    "add_app_template_filter",
}

# View modules other helpers are reworking right now (issue 14, item 4). The coordinator
# shrinks this list as their branches merge; an entry whose module is already thin fails
# ``test_the_allow_list_holds_only_modules_that_still_need_it``, so it cannot go stale.
BEING_REWORKED: set[str] = set()


def _is_route_decorator(node: ast.expr) -> bool:
    """``@bp.route(...)``, ``@bp.post(...)``, or a module's own ``@route(...)`` collector."""
    if not isinstance(node, ast.Call):
        return False
    if isinstance(node.func, ast.Name):
        return node.func.id == "route"
    return (
        isinstance(node.func, ast.Attribute)
        and node.func.attr in ROUTE_DECORATORS
        and isinstance(node.func.value, ast.Name)
    )


def _is_view_module(path: Path, tree: ast.Module) -> bool:
    """A module named ``views.py``/``*_views.py``, or one that declares a route."""
    if path.name == "views.py" or path.name.endswith("_views.py"):
        return True
    return any(
        _is_route_decorator(decorator)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for decorator in node.decorator_list
    )


def _view_modules() -> dict[str, ast.Module]:
    modules = {}
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if len(relative.parts) < 2 or NOT_APP_CODE.intersection(relative.parts):
            continue  # top-level files are base modules and the app factory
        tree = ast.parse(path.read_text(), str(path))
        if _is_view_module(path, tree):
            modules[relative.as_posix()] = tree
    return modules


def _dotted(node: ast.expr) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _fat(tree: ast.Module) -> list[str]:
    """What makes a view module fat, one line each: ``<line>: <what>``."""
    found = []
    for node in ast.walk(tree):
        where = getattr(node, "lineno", 0)
        if isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if dotted.startswith("db.session.") and dotted.count(".") == 2:
                if node.attr not in SESSION_CALLS_ALLOWED:
                    found.append(f"{where}: query {dotted}")
            elif node.attr == "query" and not dotted.startswith("request."):
                found.append(f"{where}: query {dotted}")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func).rsplit(".", 1)[-1]
            if name == "select":
                found.append(f"{where}: query select(...)")
            elif name == "decrypt":
                found.append(f"{where}: decrypt(...)")
            elif name in FILTER_REGISTRATIONS:
                found.append(f"{where}: template filter {name}")
        elif isinstance(node, ast.ClassDef):
            bases = {_dotted(base).rsplit(".", 1)[-1] for base in node.bases}
            if any(base.endswith("Form") for base in bases):  # FlaskForm, i18n.Form, …
                found.append(f"{where}: form class {node.name}")
        elif isinstance(node, ast.Subscript) and _dotted(node.value).endswith("jinja_env.filters"):
            found.append(f"{where}: template filter jinja_env.filters[...]")
    return sorted(set(found), key=lambda line: (int(line.split(":")[0]), line))


def _allowed(module: str) -> bool:
    return any(
        module == entry or (entry.endswith("/") and module.startswith(entry))
        for entry in BEING_REWORKED
    )


def test_the_checker_sees_each_kind_of_fat():
    source = (
        "from flask_wtf import FlaskForm\n"
        "class F(FlaskForm):\n    pass\n"
        "class G(RegistrationForm):\n    pass\n"
        "def v():\n"
        "    db.session.execute(select(X))\n"
        "    User.query.get(1)\n"
        "    vault.decrypt(x)\n"
        "    bp.add_app_template_filter(f)\n"
        "    bp.app_template_filter('money')(f)\n"
        "    app.jinja_env.filters['m'] = f\n"
        "    db.session.commit()\n"
        "    request.query_string\n"
    )
    found = {line.split(": ", 1)[1] for line in _fat(ast.parse(source))}
    assert found == {
        "form class F",
        "form class G",
        "query db.session.execute",
        "query select(...)",
        "query User.query",
        "decrypt(...)",
        "template filter add_app_template_filter",
        "template filter app_template_filter",
        "template filter jinja_env.filters[...]",
    }


def test_the_checker_finds_the_view_modules():
    modules = _view_modules()
    assert "admin/dues.py" in modules  # declares routes, not named views.py
    assert "admin/fulfillment.py" in modules  # its own @route collector
    assert "sponsorship/views.py" in modules
    assert "accounts/services.py" not in modules
    assert "admin/orders/queries.py" not in modules


def test_view_modules_hold_no_query_decrypt_form_or_filter():
    fat = {
        module: lines
        for module, tree in _view_modules().items()
        if not _allowed(module) and (lines := _fat(tree))
    }
    assert fat == {}


def test_the_allow_list_holds_only_modules_that_still_need_it():
    modules = _view_modules()
    stale = sorted(
        entry
        for entry in BEING_REWORKED
        if not any(
            (module == entry or (entry.endswith("/") and module.startswith(entry))) and _fat(tree)
            for module, tree in modules.items()
        )
    )
    assert stale == []
