"""MySQL connections (pymysql): one per thread, reconnected after a failure."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, unquote, urlparse

import pymysql
import pymysql.cursors

from functions.errors import DependencyDown

MYSQL_ERRORS = (pymysql.err.OperationalError, pymysql.err.InterfaceError, pymysql.err.InternalError)
# server errors that pass with time: too many connections, lock wait timeout, deadlock,
# read-only (failover in progress), server shutting down
_TRANSIENT_SERVER_ERRORS = frozenset({1040, 1053, 1205, 1213, 1290, 1836})


def is_transient(error: BaseException) -> bool:
    """True unless MySQL answered and refused the statement itself (e.g. a CHECK failed).

    >>> is_transient(pymysql.err.OperationalError(2003, "Can't connect"))
    True
    >>> is_transient(pymysql.err.OperationalError(4025, "CONSTRAINT `amount_positive` failed"))
    False
    """
    code = error.args[0] if error.args and isinstance(error.args[0], int) else None
    if code is None or code < 1000 or 2000 <= code < 3000:  # client side: connection lost/refused
        return True
    return code in _TRANSIENT_SERVER_ERRORS


def placeholders(count: int, marker: str = "%s", sep: str = ",") -> str:
    """Parameter markers for ``count`` values: the only thing ever spliced into SQL text.

    >>> placeholders(3)
    '%s,%s,%s'
    >>> placeholders(2, "(%s,%s)")
    '(%s,%s),(%s,%s)'
    """
    return sep.join([marker] * count)


# (username, password), read again for every new connection: a rotated secret is used
# without a restart
Credentials = Callable[[], tuple[str, str]]
_TRUE = ("1", "true", "yes", "on", "required", "verify_identity")


@dataclass(frozen=True)
class MySqlTarget:
    host: str
    port: int
    user: str
    password: str
    database: str
    # TLS (``?ssl=true``, RDS Proxy): verified against the system CAs or ``?ssl_ca=<file>``
    tls: bool = False
    tls_ca: str | None = None
    # SET time_zone / isolation level per connection; off where the server's parameter
    # group sets them (RDS Proxy pins a connection on such session SETs)
    session_init: bool = True
    credentials: Credentials | None = None

    @classmethod
    def from_url(cls, url: str, session_init: bool = True, credentials: Credentials | None = None) -> MySqlTarget:
        """``mysql://user:password@host:3306/database[?ssl=true&ssl_ca=/path/ca.pem]``"""
        parsed = urlparse(url)
        if parsed.scheme not in ("mysql", "mariadb", "mysql+pymysql"):
            raise ValueError(f"MYSQL_URL must start with mysql://, got {parsed.scheme!r}")
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return cls(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 3306,
            user=unquote(parsed.username or "root"),
            password=unquote(parsed.password or ""),
            database=(parsed.path or "/surge").lstrip("/") or "surge",
            tls=query.get("ssl", "false").lower() in _TRUE or "ssl_ca" in query,
            tls_ca=query.get("ssl_ca"),
            session_init=session_init,
            credentials=credentials,
        )

    def with_credentials(self) -> MySqlTarget:
        """This target with the current credentials of its provider (if any)."""
        if self.credentials is None:
            return self
        user, password = self.credentials()
        return replace(self, user=user, password=password, credentials=None)

    def ssl_context(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=self.tls_ca) if self.tls else None

    def connect(self, database: bool = True) -> pymysql.connections.Connection:
        target = self.with_credentials()
        conn = pymysql.connect(
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password,
            database=target.database if database else None,
            autocommit=False,
            connect_timeout=2,
            read_timeout=30,
            write_timeout=30,
            charset="utf8mb4",
            ssl=target.ssl_context(),
            # a plain URL means a plain connection: PyMySQL would otherwise build a TLS context
            # (the system CA store, ~ms of CPU) for every connection and try TLS where offered
            ssl_disabled=not target.tls,
            init_command="SET time_zone = '+00:00'" if target.session_init else None,
        )
        if target.session_init:
            with conn.cursor() as cur:
                # READ COMMITTED: locking reads of order ids that do not exist yet take no gap
                # locks, so two workers inserting neighbouring orders cannot deadlock each other.
                # (The statement form works on MySQL 8 and MariaDB alike.)
                cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        return conn


class MySqlConnections:
    """Hands each thread its own connection; drops it when it breaks.

    ``mysql_url`` names a live MySQL:

    >>> db = MySqlConnections(MySqlTarget.from_url(mysql_url))
    >>> with db.transaction() as cur:
    ...     _ = cur.execute("SELECT 1 + 1")
    ...     cur.fetchone()
    (2,)
    """

    def __init__(self, target: MySqlTarget):
        self.target = target
        self._local = threading.local()

    def _connection(self) -> pymysql.connections.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = self.target.connect()
            except MYSQL_ERRORS as exc:
                raise DependencyDown("mysql", exc) from exc
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with suppress(Exception):  # already broken; nothing to save
                conn.close()

    @contextmanager
    def transaction(self) -> Iterator[pymysql.cursors.Cursor]:
        """A cursor inside one transaction: committed on success, rolled back on error."""
        conn = self._connection()
        try:
            with conn.cursor() as cur:
                yield cur
            conn.commit()
        except MYSQL_ERRORS as exc:
            self._drop()
            raise DependencyDown("mysql", exc, transient=is_transient(exc)) from exc
        except BaseException:
            try:
                conn.rollback()
            except MYSQL_ERRORS:
                self._drop()
            raise

    def ping(self) -> None:
        with self.transaction() as cur:
            cur.execute("SELECT 1")
