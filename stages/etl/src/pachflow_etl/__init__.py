"""Pipeline stage: per-customer fraud features with PySpark"""
