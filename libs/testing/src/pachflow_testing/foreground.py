"""Starting a command as a terminal starts a foreground job, so a test can Ctrl-C it.

An ignored signal stays ignored across fork and exec (POSIX). A shell without job control
(a script, CI, `pytest ... &`) starts its background commands with SIGINT and SIGQUIT
ignored, so pytest run that way passes the ignore on to every process a test starts, and
Python installs no KeyboardInterrupt handler in a process that starts with SIGINT
ignored: the test's SIGINT is then lost (found with /proc/<pid>/status, SigIgn
0x1001006). That is right for the program (what a script starts with `&` must survive
the terminal's Ctrl-C), so the test restores what a terminal gives its foreground job.
"""

from __future__ import annotations

import sys

# execvp keeps the pid: the caller's Popen is the command's own process
_RESTORE_AND_EXEC = (
    "import os, signal, sys\n"
    "for sig in (signal.SIGINT, signal.SIGQUIT):\n"
    "    signal.signal(sig, signal.SIG_DFL)\n"
    "os.execvp(sys.argv[1], sys.argv[1:])\n"
)


def foreground(argv: list[str]) -> list[str]:
    """`argv` run with SIGINT and SIGQUIT at their defaults, whatever this process
    ignores (a wrapper that resets them and execs the command: no preexec_fn, which would
    run Python between fork and exec in this multi-threaded process)."""
    return [sys.executable, "-c", _RESTORE_AND_EXEC, *argv]
