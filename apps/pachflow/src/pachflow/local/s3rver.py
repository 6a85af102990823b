"""Where the local S3 gateway's server (s3rver, from npm) is, and whether it can run here:
`make s3rver` installs it next to the venv; PACHFLOW_S3RVER names another npm prefix."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

PREFIX_ENV = "PACHFLOW_S3RVER"  # the npm prefix holding node_modules/s3rver
S3RVER_VERSION = "3.7.1"
INSTALL_HINT = (
    f"install node and s3rver {S3RVER_VERSION}: `make s3rver` "
    f"(npm install --prefix .venv/share/pachflow/s3rver s3rver@{S3RVER_VERSION}; "
    f"node: apt-get install nodejs npm), or set {PREFIX_ENV} to an npm prefix holding it"
)


def s3rver_prefix() -> Path:
    """Where `make s3rver` installs it (with the venv's other shared files), unless
    PACHFLOW_S3RVER names another npm prefix."""
    return Path(os.environ.get(PREFIX_ENV) or Path(sys.prefix) / "share" / "pachflow" / "s3rver")


def missing() -> str:
    """Why no S3 gateway can run on this machine ("" when node and s3rver are there)."""
    if shutil.which("node") is None:
        return f"node is not on PATH; {INSTALL_HINT}"
    package = s3rver_prefix() / "node_modules" / "s3rver" / "package.json"
    if not package.is_file():
        return f"s3rver is not installed under {package.parents[2]}; {INSTALL_HINT}"
    return ""
