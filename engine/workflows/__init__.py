"""Workflows: task state machines configured in the rule document, and the requisition lifecycle."""
