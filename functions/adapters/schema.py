"""The schema as a whole: apply ``sql/*.sql`` in order, once each (``./surge prepare``); empty every table (reset)."""

from __future__ import annotations

from pathlib import Path

from functions.adapters.mysql import MySqlConnections, MySqlTarget

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


class MySqlTables:
    """Every table of the deployment at once (the migrations table is kept)."""

    def __init__(self, db: MySqlConnections):
        self._db = db

    def ping(self) -> None:
        self._db.ping()

    def empty_all(self) -> list[str]:
        """TRUNCATE every table in one go; the names of the tables emptied."""
        with self._db.transaction() as cur:
            cur.execute("SHOW TABLES")
            tables = [row[0] for row in cur.fetchall() if row[0] != "schema_migrations"]
            cur.execute("SET FOREIGN_KEY_CHECKS = 0")
            for table in tables:
                cur.execute(f"TRUNCATE TABLE `{table}`")
            cur.execute("SET FOREIGN_KEY_CHECKS = 1")
        return tables
