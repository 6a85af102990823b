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


def parse_java_version(text: str) -> int | None:
    """The major version in `java -version` output (`"17.0.15"` -> 17, `"1.8.0_392"` -> 8)."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major  # "1.8" -> 8


def java_major_version(java: str) -> int:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    except OSError as exc:
        raise JavaMissing(f"could not run {java} ({exc}); {INSTALL_HINT}") from exc
    version = parse_java_version(out.stderr + out.stdout)
    if version is None:
        raise JavaMissing(f"could not read the version of {java}; {INSTALL_HINT}")
    return version


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
