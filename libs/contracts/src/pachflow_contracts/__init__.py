"""Versioned Parquet schemas passed between pipeline stages, and the check consumers run"""
