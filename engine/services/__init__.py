"""Use cases: each function opens one unit of work, does one thing, and commits once."""
