"""Test aids shared by the test tree (never shipped in the package)."""
