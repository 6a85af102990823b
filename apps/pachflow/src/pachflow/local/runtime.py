"""How a datum's process is started: the `local` runtime runs the spec's argv from the
installed packages, with /pfs remapped to the datum's scratch directory.

A container runtime (podman/docker) implements the same two methods: `visible` (how the
process sees a /pfs path: unchanged in a container, where the scratch pfs dir is bind-mounted
at /pfs) and `start` (wrap the argv in `<engine> run -v <pfs_dir>:/pfs -e ... <image>`).
The runner does everything else (datums, env, retries, outputs) the same way for both.
"""

from __future__ import annotations

import subprocess
import sys
from abc import ABC, abstractmethod
from pathlib import Path
from typing import IO

PFS = "/pfs"


def remap(value: str, pfs_dir: Path) -> str:
    """`/pfs/...` -> `<pfs_dir>/...`; anything else unchanged."""
    if value == PFS or value.startswith(PFS + "/"):
        return str(pfs_dir) + value[len(PFS) :]
    return value


def venv_bin() -> str:
    """The directory of the running interpreter: where the stages' console scripts are."""
    return str(Path(sys.executable).parent)


class Runtime(ABC):
    name: str

    @abstractmethod
    def visible(self, pfs_path: str, pfs_dir: Path) -> str:
        """A /pfs path (argv item or env value) as the datum's process must see it."""

    @abstractmethod
    def start(
        self,
        *,
        image: str,
        argv: list[str],
        env: dict[str, str],
        pfs_dir: Path,
        cwd: Path,
        output: IO[bytes] | int,
    ) -> subprocess.Popen[bytes]:
        """Start the datum's process (argv already passed through `visible`)."""


class LocalRuntime(Runtime):
    """Subprocesses on this machine; commands resolve against PATH with the venv first."""

    name = "local"

    def visible(self, pfs_path: str, pfs_dir: Path) -> str:
        return remap(pfs_path, pfs_dir)

    def start(
        self,
        *,
        image: str,
        argv: list[str],
        env: dict[str, str],
        pfs_dir: Path,
        cwd: Path,
        output: IO[bytes] | int,
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            # own process group: a timeout or the end of datum batching stops the whole tree
            start_new_session=True,
        )


RUNTIMES: dict[str, type[Runtime]] = {"local": LocalRuntime}


def get_runtime(name: str) -> Runtime:
    try:
        return RUNTIMES[name]()
    except KeyError:
        raise ValueError(
            f"runtime {name!r} is not available (have: {', '.join(RUNTIMES)})"
        ) from None
