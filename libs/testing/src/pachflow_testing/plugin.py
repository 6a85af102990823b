"""pytest plugin: fixtures registered for every test suite in the workspace."""
