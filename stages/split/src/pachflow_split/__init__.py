"""Pipeline stage: stream raw PaySim CSV into customer-stable Parquet shards"""
