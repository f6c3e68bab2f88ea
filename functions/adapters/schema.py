"""Apply ``sql/*.sql`` in order, once each: ``python -m functions.cli schema``."""

from __future__ import annotations

from pathlib import Path

from functions.adapters.mysql import MySqlTarget

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"


def _statements(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def apply_schema(target: MySqlTarget, sql_dir: Path = SQL_DIR) -> list[str]:
    """Create the database if needed and run each migration not yet applied; return those run."""
    conn = target.connect(database=False)
    applied: list[str] = []
    try:
        with conn.cursor() as cur:
            # the name comes from our own configuration; quote it anyway
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{target.database.replace('`', '')}`")
            cur.execute(f"USE `{target.database.replace('`', '')}`")
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version VARCHAR(128) PRIMARY KEY,"
                " applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))"
            )
            cur.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            for path in sorted(sql_dir.glob("*.sql")):
                if path.name in done:
                    continue
                for statement in _statements(path.read_text()):
                    cur.execute(statement)
                cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (path.name,))
                conn.commit()
                applied.append(path.name)
    finally:
        conn.close()
    return applied


def drop_database(target: MySqlTarget) -> None:
    conn = target.connect(database=False)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{target.database.replace('`', '')}`")
    finally:
        conn.close()
