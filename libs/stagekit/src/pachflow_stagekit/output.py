"""All-or-nothing output: a stage writes into a staging folder inside OUTPUT_DIR and
publishes it with renames only when everything succeeded, so a failure leaves no partial
file behind (Pachyderm would otherwise commit whatever was written)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STAGING_PREFIX = ".pachflow-staging-"


@contextmanager
def atomic_output(output_dir: str | Path) -> Iterator[Path]:
    """Yield a staging directory; on success move its entries into `output_dir`.

    The staging folder lives inside `output_dir` so the final moves are same-filesystem
    renames. On any exception it is removed and nothing new appears in `output_dir`.
    Refuses to replace an entry that already exists in `output_dir`.
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = out / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        yield staging
        _publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _publish(staging: Path, out: Path) -> None:
    """Check every destination first, then rename file by file (directories merge)."""
    files = sorted(p for p in staging.rglob("*") if not p.is_dir())
    clashes = [
        str(out / f.relative_to(staging)) for f in files if (out / f.relative_to(staging)).exists()
    ]
    if clashes:
        raise FileExistsError(f"would overwrite existing output: {', '.join(clashes[:5])}")
    for src in files:
        dest = out / src.relative_to(staging)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)
