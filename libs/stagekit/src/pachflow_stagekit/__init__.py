"""What every stage CLI shares: exit codes, input discovery, all-or-nothing output (checked
before the work), SIGTERM handled like Ctrl-C, and quoting input safely in messages."""

from pachflow_stagekit.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_OK,
    BadInput,
    as_bad_input,
)
from pachflow_stagekit.inputs import find_files
from pachflow_stagekit.log import progress
from pachflow_stagekit.output import atomic_fresh_output, atomic_output, check_output_dir
from pachflow_stagekit.signals import terminate_cleanly
from pachflow_stagekit.text import excerpt

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_OK",
    "BadInput",
    "as_bad_input",
    "atomic_fresh_output",
    "atomic_output",
    "check_output_dir",
    "excerpt",
    "find_files",
    "progress",
    "terminate_cleanly",
]
