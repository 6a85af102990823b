"""The PaySim1 CSV format (header, value rules) and a generator of PaySim-like data"""
