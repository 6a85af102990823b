"""`pachflow reproduce`: re-run the chain that made a run, from its exact input commits and
stage versions, in a store of its own, and compare the new run with the original."""
