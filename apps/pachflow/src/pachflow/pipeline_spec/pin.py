"""`pachflow pin`: set each spec's stage image tag to the stage's pyproject version."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pachflow.pipeline_spec.errors import SpecError
from pachflow.pipeline_spec.jsonfile import read_json
from pachflow.pipeline_spec.stages import StageVersionError, parse_image, stage_version


def dump_spec(raw: dict[str, Any]) -> str:
    """The one committed formatting of a spec: 2-space indent, key order kept, newline."""
    return json.dumps(raw, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class PinChange:
    path: Path
    old_image: str
    new_image: str
    changed: bool  # the file's text changes (new tag, or formatting made canonical)


def plan_pin(path: Path, stages_dir: Path, registry: str | None = None) -> PinChange:
    """What pinning `path` would change (nothing is written)."""
    return _pinned(path, stages_dir, registry)[1]


def pin_file(path: Path, stages_dir: Path, registry: str | None = None) -> PinChange:
    """Rewrite `path` with its image pinned; the write is atomic (temp file + rename)."""
    new_text, change = _pinned(path, stages_dir, registry)
    if change.changed:
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(new_text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return change


def _pinned(path: Path, stages_dir: Path, registry: str | None) -> tuple[str, PinChange]:
    raw, problems = read_json(path)
    if raw is None:
        raise SpecError([p.render(str(path)) for p in problems])
    transform = raw.get("transform")
    old_image = transform.get("image") if isinstance(transform, dict) else None
    new_image = old_image
    if isinstance(old_image, str) and old_image:
        ref = parse_image(old_image)
        if ref.stage is not None:
            try:
                version = stage_version(stages_dir, ref.stage)
            except StageVersionError as err:
                raise SpecError([f"{path}: transform.image: {err}"]) from None
            new_image = ref.with_tag(version, registry)
            assert isinstance(transform, dict)
            transform["image"] = new_image
    new_text = dump_spec(raw)
    old_text = path.read_text(encoding="utf-8")
    change = PinChange(
        path=path,
        old_image=old_image or "",
        new_image=new_image or "",
        changed=old_text != new_text,
    )
    return new_text, change
