"""Lineage both ways between Pachyderm (or local) commits and MLflow runs and models."""
