"""Built-in importers (entry-point group ``stockwarn.importers``): the ERPs' network importers.

Each module reads one kind of source and yields ``engine.imports.records.Page``s; ``runs``
turns their streams into resumable pages, ``http`` is the shared HTTP client.
"""
