"""What every stage CLI shares: exit codes, input discovery, all-or-nothing output."""

from pachflow_stagekit.errors import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, BadInput
from pachflow_stagekit.inputs import find_files
from pachflow_stagekit.log import progress
from pachflow_stagekit.output import atomic_output

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_OK",
    "BadInput",
    "atomic_output",
    "find_files",
    "progress",
]
