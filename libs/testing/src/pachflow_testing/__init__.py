"""Test fixtures shared by the packages test suites, as a pytest plugin."""
