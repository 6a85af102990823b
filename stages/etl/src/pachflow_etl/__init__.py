"""Pipeline stage: per-customer partial aggregates, with Arrow or PySpark per datum"""

#: The name etl's progress lines carry.
STAGE = "etl"
