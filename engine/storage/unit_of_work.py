"""One transaction per use case: a connection that rolls back unless ``commit()`` was called."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine


class UnitOfWork:
    """``with UnitOfWork(db) as uow: ...; uow.commit()`` — nothing else commits.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE`` (see ``database.make_engine``) so
    that two writers queue on the busy timeout instead of failing half-way.
    """

    def __init__(self, db: Engine, statement_commits: bool = False) -> None:
        self.db = db
        self._conn: Connection | None = None
        # PostgreSQL only: each statement commits on its own until ``transaction()``
        self._statement_commits = statement_commits and db.dialect.name == "postgresql"

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open")
        return self._conn

    def __enter__(self) -> UnitOfWork:
        # The transaction begins with the first statement (SQLAlchemy's autobegin), and again
        # after each commit: an idle unit of work holds no lock, which on SQLite matters.
        self._conn = self.db.connect()
        if self._statement_commits:
            self._conn.execution_options(isolation_level="AUTOCOMMIT")
        return self

    def transaction(self) -> None:
        """From here on the statements share one transaction, committed by ``commit()``.

        Only a unit of work opened with ``statement_commits`` needs it: there each statement
        commits on its own, which saves the BEGIN and COMMIT round trips of a request that
        writes with one statement (one PostgreSQL statement is atomic). Reads see the same as
        in a READ COMMITTED transaction: each statement sees what was committed before it.
        Connections return to the pool at the engine's isolation level (SQLAlchemy resets it).
        """
        if self._statement_commits:
            conn = self.conn
            conn.commit()  # ends SQLAlchemy's bookkeeping of the statements so far; no round trip
            conn.execution_options(isolation_level=conn.default_isolation_level)
            self._statement_commits = False

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.rollback()
            conn.close()

    @property
    def dialect(self) -> str:
        return self.db.dialect.name
