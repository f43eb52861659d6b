"""Importers (SPEC §6–§7, ERP.md): the plugin contract, the canonical records, and the import
service that validates them and applies them through the one event path."""
