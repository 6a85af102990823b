"""Names in the local store: where it lives, repo names and labels, file paths."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from pachflow_contracts.commits import SPEC, USER
from pachflow_store.errors import NotFound, StoreError

HOME_ENV = "PACHFLOW_HOME"
DEFAULT_HOME = ".pachflow"
REPO_TYPES = (USER, SPEC)

Manifest = dict[str, tuple[str, int]]  # path -> (blob sha256, size)


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """`home`, else $PACHFLOW_HOME, else ./.pachflow; always absolute."""
    chosen = home if home is not None else os.environ.get(HOME_ENV) or DEFAULT_HOME
    return Path(chosen).expanduser().resolve()


#: A store's own MLflow: `pachflow run` tracks and registers in <home>/mlflow.db unless
#: MLFLOW_TRACKING_URI says otherwise; `pachflow score`, reproduce and lineage look there.
MLFLOW_DB = "mlflow.db"


def store_tracking_uri(home: Path) -> str:
    """The tracking URI of the store at `home`'s own MLflow database."""
    return f"sqlite:///{home / MLFLOW_DB}"


REPO_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")  # Pachyderm's rule for repo names


def check_repo_name(name: str) -> str:
    if not REPO_NAME_RE.match(name):
        raise StoreError(
            f"repo name {name!r} is not valid: use letters, digits, '_' and '-' (as Pachyderm)"
        )
    return name


def parse_repo(label: str) -> tuple[str, str]:
    """`raw_data` -> (raw_data, user); `split.spec` -> (split, spec), as pachctl parses."""
    name, dot, kind = label.partition(".")
    if not dot:
        return label, USER
    if kind not in REPO_TYPES:
        raise NotFound(f"repo type {kind!r} in {label!r} does not exist (use user or spec)")
    return name, kind


def normalize_path(path: str) -> str:
    """A file path inside a commit: absolute, '/'-separated, no trailing '/', no '..'."""
    pure = PurePosixPath("/" + path.strip().lstrip("/"))
    if ".." in pure.parts:
        raise StoreError(f"path {path!r} must not contain '..'")
    return str(pure)
