"""Inventory early-warning rules engine: the domain, free of any web framework.

The public surface is small on purpose: settings, the composition root and the error types.
"""
