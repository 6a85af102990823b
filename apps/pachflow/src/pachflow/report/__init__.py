"""What pachflow tells a person after a run, read from the store and train's run.json (no
runner code): the commits a run made, the MLflow run and model version (results.py), and
`pachflow demo`'s data and report (demo.py)."""
