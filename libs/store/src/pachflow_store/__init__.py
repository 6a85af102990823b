"""The local pachflow store (SQLite metadata + content-addressed files)."""
