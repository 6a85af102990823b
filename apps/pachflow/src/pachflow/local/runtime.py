"""How a datum's process is started: the `local` runtime runs the spec's argv from the
installed packages, with /pfs remapped to the datum's scratch directory.

A container runtime (podman/docker) implements the same two methods: `visible` (how the
process sees a /pfs path: unchanged in a container, where the scratch pfs dir is bind-mounted
at /pfs) and `command` (wrap the argv in `<engine> run -v <pfs_dir>:/pfs -e ... <image>`).
The runner does everything else (datums, env, retries, outputs) the same way for both.
"""

from __future__ import annotations

import subprocess
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pachflow_stagekit.parent import die_with_parent

PFS = "/pfs"


def remap(value: str, pfs_dir: Path) -> str:
    """`/pfs/...` -> `<pfs_dir>/...`; anything else unchanged."""
    if value == PFS or value.startswith(PFS + "/"):
        return str(pfs_dir) + value[len(PFS) :]
    return value


def venv_bin() -> str:
    """The directory of the running interpreter: where the stages' console scripts are."""
    return str(Path(sys.executable).parent)


@dataclass(frozen=True)
class Launch:
    """What one attempt of a datum's process needs, whatever the runtime."""

    image: str
    argv: list[str]
    env: Mapping[str, str]
    pfs_dir: Path
    cwd: Path


class Runtime(ABC):
    name: str

    @abstractmethod
    def visible(self, pfs_path: str, pfs_dir: Path) -> str:
        """A /pfs path (argv item or env value) as the datum's process must see it."""

    @abstractmethod
    def command(self, launch: Launch) -> list[str]:
        """The argv that starts the datum's process (launch.argv already through `visible`)."""

    def prepare(self, launch: Launch) -> None:
        """Check what the launch needs before it starts (e.g. that the image exists)."""
        return None  # the local runtime needs nothing beyond the installed packages

    def inherits(self) -> bool:
        """True where the started command runs in this process's env and cwd (an engine
        client that passes launch.env and launch.cwd into the container itself)."""
        return False

    def start(self, launch: Launch, output: IO[bytes] | int) -> subprocess.Popen[bytes]:
        """Start the datum's process, with its output (stdout and stderr) into `output`."""
        self.prepare(launch)
        own = not self.inherits()
        return subprocess.Popen(
            self.command(launch),
            env=launch.env if own else None,
            cwd=launch.cwd if own else None,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            # own process group: a timeout or the end of datum batching stops the whole tree
            # (a container engine client forwards SIGTERM to the container: sig-proxy)
            start_new_session=True,
            preexec_fn=die_with_parent(),  # even a kill -9 of the runner
        )


class LocalRuntime(Runtime):
    """Subprocesses on this machine; commands resolve against PATH with the venv first."""

    name = "local"

    def visible(self, pfs_path: str, pfs_dir: Path) -> str:
        return remap(pfs_path, pfs_dir)

    def command(self, launch: Launch) -> list[str]:
        return launch.argv


RUNTIMES: dict[str, type[Runtime]] = {"local": LocalRuntime}


def get_runtime(name: str) -> Runtime:
    try:
        return RUNTIMES[name]()
    except KeyError:
        raise ValueError(
            f"runtime {name!r} is not available (have: {', '.join(RUNTIMES)})"
        ) from None
