"""pachflow control CLI."""
