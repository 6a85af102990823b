"""Pipeline stage: Spark MLlib fraud model, evaluated and tracked in MLflow"""
