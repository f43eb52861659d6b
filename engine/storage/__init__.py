"""Persistence: SQLAlchemy Core tables, repositories and the unit of work.

The only part of ``engine`` that imports SQLAlchemy. Core (not the ORM) is used on purpose: the
ingest path writes thousands of events per second with bulk statements and ``ON CONFLICT``, and
the domain objects stay plain dataclasses that know nothing of the database.
"""
