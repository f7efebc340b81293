"""Test aids shared by the test tree, never shipped in the package (import as `support.…`; tests/ is on
the path through its conftest.py)."""
