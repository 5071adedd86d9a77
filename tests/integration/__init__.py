"""A package, so that a unit and an integration test module may share a name (test_warm.py)."""
