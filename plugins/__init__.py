"""Importers that bring master data and stock events from ERPs (loaded through entry points)."""
