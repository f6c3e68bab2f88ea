"""Session settings per connection locally; none where the DB parameter group sets them
(RDS Proxy pins a connection on session SETs). Real MariaDB."""

from __future__ import annotations

from functions.adapters.mysql import MySqlTarget
from functions.config import Settings

SESSION = "SELECT @@session.time_zone, @@global.time_zone, @@session.tx_isolation, @@global.tx_isolation"


def _session(target: MySqlTarget) -> tuple[str, str, str, str]:
    conn = target.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(SESSION)
            row = cur.fetchone()
    finally:
        conn.close()
    return tuple(str(v) for v in row)  # type: ignore[return-value]


def test_locally_each_connection_is_utc_and_read_committed(prepared: Settings) -> None:
    zone, _, isolation, _ = _session(MySqlTarget.from_url(prepared.mysql_url))
    assert (zone, isolation) == ("+00:00", "READ-COMMITTED")


def test_without_session_init_no_set_is_sent(prepared: Settings) -> None:
    zone, global_zone, isolation, global_isolation = _session(
        MySqlTarget.from_url(prepared.mysql_url, session_init=False)
    )
    assert (zone, isolation) == (global_zone, global_isolation)


def test_a_plain_url_connects_without_tls(prepared: Settings) -> None:
    """PyMySQL otherwise tries TLS where the server offers it and builds a TLS context
    (loading the system CA store) for every connection."""
    conn = MySqlTarget.from_url(prepared.mysql_url).connect(database=False)
    try:
        assert conn.ssl is False and getattr(conn, "ctx", None) is None
    finally:
        conn.close()
