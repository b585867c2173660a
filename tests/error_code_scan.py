"""Find every error code the application can put in a problem body, by reading app/ with `ast`.

Used by tests/test_error_catalogue.py to check that app/error_catalogue.py lists every code, so a
file still raising `NotFound("...", code="x")` inline (an owned file not yet converted) cannot add a
code the catalogue (and docs/errors.md) does not know.

What counts as raising a code:
- a call to a DomainError subclass with `code="..."`;
- a DomainError subclass whose body sets `code` (e.g. `status, code, detail = 422, "x", "..."`);
- a carrier that a service turns into a DomainError with `code=exc.code` / `refusal.code`: the first
  argument of IdNumberError, UsccError, RosterError, TokenInvalid, Refusal, Reason, and
  the `(code, message)` tuples `payee_refusal` returns;
- werkzeug's own HTTP errors (app/errors.py HTTP_ERROR_MESSAGES);
- the catalogue's own raisers: `E.some_code` (called or passed on), `error("some_code")`, `raise_error("some_code")`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

BASE_ERRORS = {
    "DomainError",
    "BadRequest",
    "ValidationFailed",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "RateLimited",
    "UpstreamUnavailable",
}
# Exceptions/values whose first argument is a code that reaches a problem body via a DomainError.
CARRIERS = {
    "IdNumberError",
    "UsccError",
    "RosterError",
    "TokenInvalid",
    "Refusal",
    "Reason",
}
TUPLE_RETURNING = {"payee_refusal"}
CATALOGUE_MODULE = "error_catalogue.py"


@dataclass(frozen=True)
class Site:
    code: str
    path: str  # relative to the repository
    line: int
    message: str | None  # the literal message at the site, when it is one
    kind: str  # "inline", "class", "carrier", "http", "catalogue"


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _literal(node: ast.AST | None, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "f:" + ast.unparse(node)
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    return None


def _trees(extra: dict[str, str] | None = None) -> list[tuple[Path, ast.Module]]:
    trees = [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(APP.rglob("*.py"))]
    for name, source in (extra or {}).items():  # synthetic modules, to test the scanner itself
        trees.append((APP / name, ast.parse(source)))
    return trees


def _error_classes(trees) -> set[str]:
    names = set(BASE_ERRORS)
    changed = True
    while changed:
        changed = False
        for _, tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    if any(_name(b) in names for b in node.bases):
                        names.add(node.name)
                        changed = True
    return names


def _class_code(node: ast.ClassDef) -> tuple[str | None, str | None]:
    code = detail = None
    for stmt in node.body:
        if not isinstance(stmt, ast.Assign):
            continue
        for target in stmt.targets:
            if isinstance(target, ast.Name) and isinstance(stmt.value, ast.Constant):
                if target.id == "code":
                    code = stmt.value.value
                elif target.id == "detail":
                    detail = stmt.value.value
            if isinstance(target, ast.Tuple) and isinstance(stmt.value, ast.Tuple):
                for t, v in zip(target.elts, stmt.value.elts, strict=False):
                    if isinstance(t, ast.Name) and isinstance(v, ast.Constant):
                        if t.id == "code":
                            code = v.value
                        elif t.id == "detail":
                            detail = v.value
    return code, detail


def scan(extra: dict[str, str] | None = None) -> list[Site]:
    trees = _trees(extra)
    errors = _error_classes(trees)
    root = APP.parent
    sites: list[Site] = []
    for path, tree in trees:
        rel = str(path.relative_to(root))
        constants = {
            t.id: s.value.value
            for s in tree.body
            if isinstance(s, ast.Assign)
            and isinstance(s.value, ast.Constant)
            and isinstance(s.value.value, str)
            for t in s.targets
            if isinstance(t, ast.Name)
        }
        is_catalogue = path.name == CATALOGUE_MODULE
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in errors:
                code, detail = _class_code(node)
                if code and not is_catalogue:
                    sites.append(Site(code, rel, node.lineno, detail, "class"))
            elif isinstance(node, ast.Call):
                fname = _name(node.func)
                if fname in errors and not is_catalogue:
                    for kw in node.keywords:
                        if kw.arg == "code" and isinstance(kw.value, ast.Constant):
                            message = _literal(node.args[0] if node.args else None, constants)
                            sites.append(Site(kw.value.value, rel, node.lineno, message, "inline"))
                elif fname in CARRIERS and node.args:
                    code = _literal(node.args[0], constants)
                    if code and not code.startswith("f:"):
                        message = _literal(node.args[1], constants) if len(node.args) > 1 else None
                        sites.append(Site(code, rel, node.lineno, message, "carrier"))
                elif (
                    isinstance(node.func, ast.Name)
                    and fname in ("raise_error", "error")
                    and node.args
                ):
                    code = _literal(node.args[0], constants)
                    if code:
                        sites.append(Site(code, rel, node.lineno, None, "catalogue"))
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "E"
            ):
                sites.append(Site(node.attr, rel, node.lineno, None, "catalogue"))
            elif isinstance(node, ast.FunctionDef) and node.name in TUPLE_RETURNING:
                for sub in ast.walk(node):
                    if (
                        isinstance(sub, ast.Return)
                        and isinstance(sub.value, ast.Tuple)
                        and sub.value.elts
                    ):
                        code = _literal(sub.value.elts[0], constants)
                        message = _literal(sub.value.elts[1], constants)
                        if code:
                            sites.append(Site(code, rel, sub.lineno, message, "carrier"))
            elif (
                isinstance(node, ast.AnnAssign | ast.Assign)
                and path.name == "errors.py"
                and path.parent == APP
            ):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(_name(t) == "HTTP_ERROR_MESSAGES" for t in targets):
                    for v in node.value.values:
                        code = _literal(v.elts[0], constants)
                        sites.append(
                            Site(code, rel, v.lineno, _literal(v.elts[1], constants), "http")
                        )
    return sites


if __name__ == "__main__":  # pragma: no cover - a tool for people
    import sys
    from collections import defaultdict

    by_code: dict[str, list[Site]] = defaultdict(list)
    for site in scan():
        by_code[site.code].append(site)
    for code in sorted(by_code):
        messages = {s.message for s in by_code[code]}
        flag = " CONFLICT" if len(messages - {None}) > 1 else ""
        sys.stdout.write(f"{code}{flag}\n")
        for s in by_code[code]:
            sys.stdout.write(f"    {s.kind:9} {s.path}:{s.line} {s.message}\n")
