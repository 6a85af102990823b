"""Lineage both ways between Pachyderm commits and MLflow runs; the Pachyderm-context-to-MLflow-tags helper"""
