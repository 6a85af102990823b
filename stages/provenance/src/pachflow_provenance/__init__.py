"""Lineage both ways between Pachyderm commits and MLflow runs."""
