"""Lint: values reach MySQL only as parameters, never spliced into the SQL text.

An ``execute()``/``executemany()`` whose SQL is built with an f-string, ``.format``,
``%`` or ``+`` fails this test. Allowed: back-quoted identifiers in the modules that name
our own databases/tables (configuration, ``SHOW TABLES``), and placeholder lists: a
``placeholders`` variable or ``",".join(["%s"] * n)`` made of ``%s`` markers only.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IDENTIFIER_MODULES = {"functions/adapters/schema.py"}
MARKERS = set("%s(), ")


def _placeholders(node: ast.expr) -> bool:
    """``placeholders``, ``placeholders(n, "(%s,%s)")`` (functions.adapters.mysql) or
    ``",".join(["(%s,%s)"] * n)``: markers only, no values."""
    if isinstance(node, ast.Name):
        return node.id.endswith("placeholders")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "placeholders":
        # the count may be computed; every other argument must be a literal of code, never data
        return all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args[1:])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join":
        joiner = node.func.value
        arg = node.args[0] if len(node.args) == 1 else None
        if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Mult):
            arg = arg.left
        return (
            isinstance(joiner, ast.Constant)
            and set(str(joiner.value)) <= MARKERS
            and isinstance(arg, ast.List)
            and all(isinstance(e, ast.Constant) and set(str(e.value)) <= MARKERS for e in arg.elts)
        )
    return False


def _allowed_fstring(node: ast.JoinedStr, module: str) -> bool:
    parts = node.values
    for i, part in enumerate(parts):
        if not isinstance(part, ast.FormattedValue):
            continue
        if _placeholders(part.value):
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
        if not isinstance(sql.op, ast.Add):
            return True
        return any(
            not (isinstance(side, ast.Constant) or _placeholders(side)) and _spliced(side, module)
            if isinstance(side, ast.BinOp)
            else not (isinstance(side, ast.Constant) or _placeholders(side))
            for side in (sql.left, sql.right)
        )
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
        """cur.execute(f"SELECT 1 FROM t WHERE id IN ({','.join(ids)})")""",  # values, not markers
        'cur.execute("INSERT INTO t VALUES " + ",".join(rows) + " ON DUPLICATE KEY UPDATE a = a")',
        'cur.execute("SELECT * FROM t WHERE a = " + "%s" + name)',
    ]
    for line in bad:
        assert violations(line, "functions/payments/x.py") == [1], line
    good = [
        'cur.execute("SELECT * FROM payments WHERE id = %s", (payment_id,))',
        'cur.execute(f"INSERT INTO t VALUES {placeholders}", values)',
        """cur.execute(f"SELECT 1 FROM t WHERE id IN ({','.join(['%s'] * len(ids))})", ids)""",
        'cur.execute("INSERT INTO t VALUES " + ",".join(["(%s,%s)"] * n) + " ON DUPLICATE KEY UPDATE a = a", v)',
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
