"""The PaySim1 CSV format (header, value rules) and a generator of PaySim-like data."""

from pachflow_paysim.format import COLUMNS, HEADER, TYPES

__all__ = ["COLUMNS", "HEADER", "TYPES"]
