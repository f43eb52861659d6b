"""The built-in importers (entry-point group ``stockwarn.importers``): files (csv, excel) and
the ERPs' network importers.

Each module exposes ``importer``, registered in pyproject.toml exactly as a third-party plugin
would be, and yields ``engine.imports.records.Page``s. The file importers share the tabular
parsing (``tabular``, ``columns``, ``cells``, ``rows``); for the ERPs, ``runs`` turns their
streams into resumable pages and ``http`` is the shared HTTP client.
"""
