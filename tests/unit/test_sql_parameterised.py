"""Lint: values reach MySQL only as parameters, never spliced into the SQL text.

An ``execute()``/``executemany()`` whose SQL is built with an f-string, ``.format``,
``%`` or ``+`` fails this test. Allowed: back-quoted identifiers in the schema module
(database/table names from our own configuration) and ``placeholders`` strings made of
``%s`` markers only.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IDENTIFIER_MODULES = {"functions/adapters/schema.py"}


def _allowed_fstring(node: ast.JoinedStr, module: str) -> bool:
    parts = node.values
    for i, part in enumerate(parts):
        if not isinstance(part, ast.FormattedValue):
            continue
        if isinstance(part.value, ast.Name) and part.value.id.endswith("placeholders"):
            continue
        before = parts[i - 1] if i else None
        after = parts[i + 1] if i + 1 < len(parts) else None
        quoted = (
            isinstance(before, ast.Constant)
            and str(before.value).endswith("`")
            and isinstance(after, ast.Constant)
            and str(after.value).startswith("`")
        )
        if not (module in IDENTIFIER_MODULES and quoted):
            return False
    return True


def _spliced(sql: ast.expr, module: str) -> bool:
    if isinstance(sql, ast.JoinedStr):
        return not _allowed_fstring(sql, module)
    if isinstance(sql, ast.BinOp):  # "..." % values, "..." + value
        return not all(isinstance(side, ast.Constant) for side in (sql.left, sql.right))
    return isinstance(sql, ast.Call) and isinstance(sql.func, ast.Attribute) and sql.func.attr == "format"


def violations(source: str, module: str) -> list[int]:
    """Line numbers of execute() calls whose SQL splices values in."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("execute", "executemany")
            and node.args
            and _spliced(node.args[0], module)
        ):
            found.append(node.lineno)
    return found


def test_the_lint_catches_spliced_values() -> None:
    bad = [
        'cur.execute(f"SELECT * FROM payments WHERE id = {payment_id}")',
        'cur.execute("SELECT * FROM payments WHERE id = %s" % payment_id)',
        'cur.execute("SELECT * FROM payments WHERE id = " + payment_id)',
        'cur.execute("SELECT * FROM payments WHERE id = {}".format(payment_id))',
        'cur.execute(f"DROP DATABASE `{name}`")',  # identifiers only in the schema module
    ]
    for line in bad:
        assert violations(line, "functions/payments/x.py") == [1], line
    good = [
        'cur.execute("SELECT * FROM payments WHERE id = %s", (payment_id,))',
        'cur.execute(f"INSERT INTO t VALUES {placeholders}", values)',
    ]
    for line in good:
        assert violations(line, "functions/payments/x.py") == [], line
    assert violations('cur.execute(f"USE `{name}`")', "functions/adapters/schema.py") == []


def test_no_sql_in_the_functions_splices_values() -> None:
    offenders = {}
    for path in sorted((ROOT / "functions").rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        lines = violations(path.read_text(), module)
        if lines:
            offenders[module] = lines
    assert offenders == {}
