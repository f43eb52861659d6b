"""Form definitions (a transition's fields) turned into validation and widget descriptions."""
