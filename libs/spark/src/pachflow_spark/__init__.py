"""The one SparkSession builder shared by the Spark stages"""
