"""One transaction per use case: a connection that rolls back unless ``commit()`` was called."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine


class UnitOfWork:
    """``with UnitOfWork(db) as uow: ...; uow.commit()`` — nothing else commits.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE`` (see ``database.make_engine``) so
    that two writers queue on the busy timeout instead of failing half-way.
    """

    def __init__(self, db: Engine) -> None:
        self.db = db
        self._conn: Connection | None = None

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open")
        return self._conn

    def __enter__(self) -> UnitOfWork:
        # The transaction begins with the first statement (SQLAlchemy's autobegin), and again
        # after each commit: an idle unit of work holds no lock, which on SQLite matters.
        self._conn = self.db.connect()
        return self

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
