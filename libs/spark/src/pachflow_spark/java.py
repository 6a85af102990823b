"""Spark 4 needs Java 17+: find it and say exactly what to install when it is missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

MIN_JAVA = 17
INSTALL_HINT = (
    "install a Java 17+ runtime, e.g. `sudo apt-get install openjdk-17-jre-headless` "
    "(Debian/Ubuntu) or `brew install openjdk@17` (macOS), or set JAVA_HOME to one"
)


class JavaMissing(RuntimeError):
    """No usable Java runtime for Spark."""


def java_executable() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


def java_major_version(java: str) -> int:
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        raise JavaMissing(f"could not read the version of {java}; {INSTALL_HINT}")
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major  # "1.8" -> 8


def require_java(minimum: int = MIN_JAVA) -> int:
    """Return the Java major version, or raise JavaMissing with an install hint."""
    java = java_executable()
    if java is None:
        raise JavaMissing(
            f"Java {minimum}+ not found (no JAVA_HOME, no java on PATH); {INSTALL_HINT}"
        )
    version = java_major_version(java)
    if version < minimum:
        raise JavaMissing(
            f"{java} is Java {version}; Spark 4 needs Java {minimum}+; {INSTALL_HINT}"
        )
    return version
