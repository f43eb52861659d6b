"""Database engines and schema migrations (Alembic, driven programmatically)."""

from __future__ import annotations

import os
import select
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, exc, make_url

# Alembic is imported by the functions that migrate, not here: it was a tenth of every CLI
# command's start-up (0.2 s of 2.1 s of imports).
if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


# PostgreSQL ends a session left idle inside a transaction this long (seconds). None of ours
# waits that long between two statements (a delivery's network timeouts are at most 60 s); a
# session that does belongs to a client that is gone without a word, e.g. a worker whose host
# crashed: its transaction, row locks and the applier's lock would otherwise stay until TCP
# keepalives give up, two hours by default, with every event waiting behind them.
IDLE_IN_TRANSACTION_TIMEOUT = 300.0


def make_engine(url: str, ping_idle_after: float | None = None,
                idle_in_transaction_timeout: float | None = IDLE_IN_TRANSACTION_TIMEOUT,
                **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and enforced foreign keys; a server
    database a liveness check on checkout (``_liveness_check``; ``ping_idle_after`` seconds,
    default PING_IDLE_AFTER) and, on PostgreSQL, ``idle_in_transaction_session_timeout``
    (``idle_in_transaction_timeout`` seconds; None leaves the server's setting)."""
    if url.startswith("sqlite"):
        _ensure_sqlite_folder(url)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling is off so that BEGIN is ours (SQLAlchemy docs,
        # "Serializable isolation / Savepoints / Transactional DDL").
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    if idle_in_transaction_timeout is not None and url.startswith("postgresql"):
        setting = f"-c idle_in_transaction_session_timeout={int(idle_in_transaction_timeout * 1000)}"
        connect_args = dict(kwargs.pop("connect_args", {}))
        given = connect_args.get("options") or make_url(url).query.get("options")
        connect_args["options"] = f"{given} {setting}" if given else setting
        kwargs["connect_args"] = connect_args
    engine = create_engine(url, **kwargs)
    event.listen(engine, "do_connect", _open_remembered)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", _liveness_check(
            engine, PING_IDLE_AFTER if ping_idle_after is None else ping_idle_after))
    return engine


# A pooled connection idle longer than this is pinged before use (see _liveness_check).
PING_IDLE_AFTER = 10.0


def _note_checkin(_dbapi_conn: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _liveness_check(engine: Engine, ping_idle_after: float) -> Any:
    """Checkout hook in place of ``pool_pre_ping``, which cost a round trip per checkout (one
    in seven of a single-event request's, and CPU on both ends).

    A restarted or killed server closes its sockets: the pooled connection is then readable
    (end of file or the FATAL notice) while idle, which one ``poll`` with no timeout sees
    without a round trip; every pooled connection is then replaced, as a failed pre-ping
    does. A connection idle over ``ping_idle_after`` seconds is still pinged: a server host
    that went away without closing anything (a reboot, a failover) is then noticed before
    use, not by a request. Under load connections are back in use within milliseconds, so
    none is pinged; one that dies mid-use fails that statement (as it could right after a
    pre-ping) and SQLAlchemy replaces the pool.
    """
    dialect = engine.dialect

    def check(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if _server_hung_up(dbapi_conn):
            raise exc.InvalidatePoolError("the server closed this pooled connection")
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since > ping_idle_after:
            try:
                dialect.do_ping(dbapi_conn)
            except dialect.loaded_dbapi.Error as error:
                raise exc.InvalidatePoolError(f"ping failed: {error}") from error

    return check


def _server_hung_up(dbapi_conn: Any) -> bool:
    """True when an idle connection is known dead or has something to read (an idle one
    never should: the server spoke, which it does only to say goodbye)."""
    if getattr(dbapi_conn, "closed", False) or getattr(dbapi_conn, "broken", False):
        return True
    try:
        fd = dbapi_conn.fileno()
    except Exception:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


# Every server connection this process opened (weakly: a closed one drops out by itself).
_SOCKETS: weakref.WeakSet[Any] = weakref.WeakSet()
# Held while a connection is opened and remembered, and across every fork of a process that
# asked for drop_sockets_in_forked_children: a child forked while another thread was still
# connecting would otherwise inherit a socket missing from _SOCKETS, and keep it.
_OPENING = threading.Lock()
_FORK_DROPS: weakref.WeakSet[Engine] = weakref.WeakSet()
_fork_hooked = False


def _open_remembered(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    with _OPENING:
        dbapi_conn = dialect.connect(*cargs, **cparams)
        _SOCKETS.add(dbapi_conn)
    return dbapi_conn


def drop_sockets_in_forked_children(engine: Engine) -> None:
    """Every child this process forks from now on lets go of ``engine``'s connections at once
    (``drop_inherited_sockets``). A fork waits for a connection being opened in another thread
    to be remembered first (RQ forks its scheduler while the outbox relay may be connecting)."""
    global _fork_hooked
    if not _fork_hooked:  # once per process: a second ``before`` would wait for the first
        os.register_at_fork(before=_OPENING.acquire, after_in_parent=_OPENING.release,
                            after_in_child=_after_fork_in_child)
        _fork_hooked = True
    _FORK_DROPS.add(engine)


def _after_fork_in_child() -> None:
    _OPENING.release()
    for engine in list(_FORK_DROPS):
        drop_inherited_sockets(engine)


def drop_inherited_sockets(engine: Engine) -> None:
    """In a forked child: let go of the parent's database connections, at the socket level.

    Forgetting the pool is not enough: the child still holds a copy of each socket, so when
    the parent dies mid-transaction (a SIGKILLed worker) the server sees no end of file and
    keeps that transaction, its row locks and its advisory lock, for as long as the child
    lives. Each inherited socket is pointed at /dev/null instead: the child's copy is gone, no
    byte goes to the server, and the parent's connections are untouched.
    """
    engine.dispose(close=False)
    sockets = list(_SOCKETS)
    _SOCKETS.clear()
    if not sockets:
        return
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for conn in sockets:
            try:
                fd = conn.fileno()
            except Exception:
                continue
            if fd >= 0:
                os.dup2(null, fd)
    finally:
        os.close(null)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    # Checkpoint every ~80 MB of WAL instead of every 4 MB: a checkpoint is where WAL mode
    # syncs, and at the default the replay of 63k events spent over half its time waiting on
    # it (2,045 → 4,338 events/s). Durability is the same; the file is cut back afterwards.
    cur.execute("PRAGMA wal_autocheckpoint=20000")
    cur.execute("PRAGMA journal_size_limit=67108864")
    # 16 MiB of page cache per connection instead of 2: a batch touches index pages all over
    # the events, levels and demand tables (random event ids and pairs), and at 2 MiB each one
    # is read again from the OS. Replay (100k events): the events' insert 12.7 → 7.4 µs a row.
    cur.execute("PRAGMA cache_size=-16384")
    cur.close()


def _ensure_sqlite_folder(url: str) -> None:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``, creating everything from nothing."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
