"""Running the pipeline specs on one machine, with Pachyderm's semantics, over the local
store (pachflow_store)."""
