"""A fake U8 database: the tables the U8 importer reads (``Warehouse``, ``Vendor``,
``Inventory``, ``CurrentStock`` with its ``ufts`` counter, ``RdRecord32``/``RdRecords32``,
``RdRecord01``/``RdRecords01``, the purchase orders ``PO_Pomain``/``PO_Podetails``) created in a SQLite file or a PostgreSQL schema by the test,
with U8's column names. SQL Server's ``ufts`` is a rowversion; here an integer the fake bumps
on every write, as SQL Server does."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()
Warehouse = sa.Table("Warehouse", metadata, sa.Column("cWhCode", sa.String(10), primary_key=True),
                     sa.Column("cWhName", sa.String(60)))
Vendor = sa.Table("Vendor", metadata, sa.Column("cVenCode", sa.String(20), primary_key=True),
                  sa.Column("cVenName", sa.String(98)))
Inventory = sa.Table("Inventory", metadata,
                     sa.Column("cInvCode", sa.String(60), primary_key=True),
                     sa.Column("cInvName", sa.String(255)), sa.Column("cInvStd", sa.String(255)),
                     sa.Column("cInvCCode", sa.String(12)),
                     sa.Column("cComUnitCode", sa.String(35)))
CurrentStock = sa.Table("CurrentStock", metadata,
                        sa.Column("AutoID", sa.Integer, primary_key=True),
                        sa.Column("cWhCode", sa.String(10)), sa.Column("cInvCode", sa.String(60)),
                        sa.Column("cBatch", sa.String(60)),
                        sa.Column("iQuantity", sa.Numeric(20, 6)),
                        sa.Column("fOutQuantity", sa.Numeric(20, 6)),
                        sa.Column("fInQuantity", sa.Numeric(20, 6)),
                        sa.Column("ufts", sa.BigInteger))
HEADS = {n: sa.Table(n, metadata, sa.Column("ID", sa.Integer, primary_key=True),
                     sa.Column("cCode", sa.String(30)), sa.Column("cWhCode", sa.String(10)),
                     sa.Column("dDate", sa.DateTime)) for n in ("RdRecord32", "RdRecord01")}
LINES = {n: sa.Table(n, metadata, sa.Column("AutoID", sa.Integer, primary_key=True),
                     sa.Column("ID", sa.Integer), sa.Column("cInvCode", sa.String(60)),
                     sa.Column("iQuantity", sa.Numeric(20, 6)))
         for n in ("RdRecords32", "RdRecords01")}
PO_Pomain = sa.Table("PO_Pomain", metadata, sa.Column("POID", sa.Integer, primary_key=True),
                     sa.Column("cPOID", sa.String(30)), sa.Column("dPODate", sa.DateTime),
                     sa.Column("cVenCode", sa.String(20)), sa.Column("cVerifier", sa.String(20)),
                     sa.Column("cCloser", sa.String(20)))
PO_Podetails = sa.Table("PO_Podetails", metadata, sa.Column("ID", sa.Integer, primary_key=True),
                        sa.Column("POID", sa.Integer), sa.Column("cInvCode", sa.String(60)),
                        sa.Column("iQuantity", sa.Numeric(20, 6)),
                        sa.Column("iReceivedQTY", sa.Numeric(20, 6)),
                        sa.Column("dArriveDate", sa.DateTime),
                        sa.Column("cbCloser", sa.String(20)))


class FakeU8:
    def __init__(self, url: str, schema: str | None = None) -> None:
        self.url, self.schema = url, schema
        self.engine = sa.create_engine(url)
        if schema:
            with self.engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            self.engine = self.engine.execution_options(schema_translate_map={None: schema})
        metadata.create_all(self.engine)
        self.ufts = 1000

    def insert(self, table: sa.Table, **values: Any) -> None:
        if table is CurrentStock:
            self.ufts += 1
            values["ufts"] = self.ufts
        with self.engine.begin() as conn:
            conn.execute(table.insert().values(**values))

    def set_stock(self, auto_id: int, **values: Any) -> None:
        self.ufts += 1
        with self.engine.begin() as conn:
            conn.execute(CurrentStock.update().where(CurrentStock.c.AutoID == auto_id).values(
                ufts=self.ufts, **values))

    def qualified(self, table: str) -> str:
        """A table's name for raw SQL (schema translation applies to Core only)."""
        return f'"{self.schema}"."{table}"' if self.schema else f'"{table}"'

    def drop(self) -> None:
        if self.schema:
            with sa.create_engine(self.url).begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        self.engine.dispose()


def seed(u8: FakeU8) -> None:
    from datetime import datetime

    u8.insert(Warehouse, cWhCode="01", cWhName="原料库")
    u8.insert(Warehouse, cWhCode="02", cWhName="成品库")
    u8.insert(Vendor, cVenCode="V001", cVenName="苏州五金")
    u8.insert(Inventory, cInvCode="0101001", cInvName="螺栓", cInvStd="M6×20", cInvCCode="01",
              cComUnitCode="PCS")
    u8.insert(Inventory, cInvCode="0201001", cInvName="机箱", cInvStd="A型", cInvCCode="02",
              cComUnitCode="TAI")
    for auto, wh, inv, batch, qty, out, inc in (
        (1, "01", "0101001", "B1", 1000, 50, 0), (2, "01", "0101001", "B2", 200, 0, 300),
        (3, "02", "0101001", "", 5, 0, 0), (4, "02", "0201001", "", 36, 2, 10),
    ):
        u8.insert(CurrentStock, AutoID=auto, cWhCode=wh, cInvCode=inv, cBatch=batch,
                  iQuantity=qty, fOutQuantity=out, fInQuantity=inc)
    u8.insert(HEADS["RdRecord32"], ID=1, cCode="XS0001", cWhCode="02",
              dDate=datetime(2024, 5, 21))
    u8.insert(LINES["RdRecords32"], AutoID=11, ID=1, cInvCode="0201001", iQuantity=2)
    u8.insert(LINES["RdRecords32"], AutoID=12, ID=1, cInvCode="0101001", iQuantity=3)
    u8.insert(HEADS["RdRecord01"], ID=1, cCode="CG0001", cWhCode="01",
              dDate=datetime(2024, 5, 20))
    u8.insert(LINES["RdRecords01"], AutoID=21, ID=1, cInvCode="0101001", iQuantity=200)
    # purchase orders: an approved open one (a line half received, a line closed), an approved
    # closed one, and one not yet approved
    for poid, code, verifier, closer in ((1, "PO0001", "张三", None), (2, "PO0002", "张三", "李四"),
                                         (3, "PO0003", None, None)):
        u8.insert(PO_Pomain, POID=poid, cPOID=code, dPODate=datetime(2024, 5, 18),
                  cVenCode="V001", cVerifier=verifier, cCloser=closer)
    for line, poid, inv, qty, received, closer in (
        (101, 1, "0101001", 500, 150, None), (102, 1, "0201001", 10, 0, "李四"),
        (201, 2, "0201001", 8, 0, None), (301, 3, "0101001", 900, 0, None),
    ):
        u8.insert(PO_Podetails, ID=line, POID=poid, cInvCode=inv, iQuantity=qty,
                  iReceivedQTY=received, dArriveDate=datetime(2024, 6, 1), cbCloser=closer)
