"""egress to a local directory: after a job's datums succeed, pachd copies the output
commit's files to egress.URL (registry.go, JOB_EGRESSING); locally the URL is
`file:///<dir>` (pachd's file scheme) and every file lands at <dir>/<path in the commit>.
Files already there are overwritten; nothing is deleted, as pachd's copy does."""

from __future__ import annotations

import shutil
from pathlib import Path

from pachflow_store import Manifest, Store


def egress(store: Store, manifest: Manifest, target: Path) -> str:
    """Copy the output files to `target`; '' on success, else why it failed (the job
    fails then, like a failed egress on pachd)."""
    try:
        for path, (blob, _size) in sorted(manifest.items()):
            dest = target / path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.egress-tmp")
            shutil.copyfile(store.blobs.path(blob), tmp)
            tmp.replace(dest)  # a reader never sees a half-written file
    except OSError as exc:
        return f"egress to file://{target} failed: {exc}"
    return ""
