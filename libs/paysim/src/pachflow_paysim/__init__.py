"""The PaySim1 CSV format (header, value rules) and a generator of PaySim-like data."""

from __future__ import annotations

from typing import Any

from pachflow_paysim.format import COLUMNS, HEADER, TYPES

__all__ = [
    "COLUMNS",
    "HEADER",
    "TYPES",
    "GenSummary",
    "PaySimChunk",
    "iter_paysim_chunks",
    "iter_paysim_csv",
    "write_paysim",
]

_GENERATOR_NAMES = {
    "GenSummary",
    "PaySimChunk",
    "iter_paysim_chunks",
    "iter_paysim_csv",
    "write_paysim",
}


def __getattr__(name: str) -> Any:
    # The generator pulls in numpy and pyarrow: load it only when asked for, so readers
    # of the format alone stay light.
    if name in _GENERATOR_NAMES:
        from pachflow_paysim import generator

        return getattr(generator, name)
    raise AttributeError(f"module 'pachflow_paysim' has no attribute {name!r}")
