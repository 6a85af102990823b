"""Stage images and versions: `[registry/]pachflow-<stage>:<version>`, where <version> is the
`project.version` in stages/<stage>/pyproject.toml (read as a file: pipelines/ never imports
a stage)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

_STAGE_RE = re.compile(r"^pachflow-([a-z0-9][a-z0-9_-]*)$")


@dataclass(frozen=True)
class ImageRef:
    """An image reference split into registry/repository path, name, tag and digest."""

    prefix: str  # "registry/path/" including the trailing slash, or ""
    name: str  # last path component, e.g. "pachflow-etl"
    tag: str  # "" when absent
    digest: str  # "" when absent (e.g. "sha256:...")

    @property
    def stage(self) -> str | None:
        """The stage this image is built from, when it is named pachflow-<stage>."""
        match = _STAGE_RE.match(self.name)
        return match.group(1) if match else None

    def with_tag(self, tag: str, registry: str | None = None) -> str:
        prefix = (
            self.prefix if registry is None else (registry.rstrip("/") + "/" if registry else "")
        )
        return f"{prefix}{self.name}:{tag}"

    def __str__(self) -> str:
        text = f"{self.prefix}{self.name}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_image(image: str) -> ImageRef:
    """Split an image reference; a ':' before the last '/' is a registry port, not a tag."""
    rest, _, digest = image.partition("@")
    slash = rest.rfind("/")
    prefix, last = rest[: slash + 1], rest[slash + 1 :]
    name, _, tag = last.partition(":")
    return ImageRef(prefix=prefix, name=name, tag=tag, digest=digest)


def find_stages_dir(start: Path) -> Path | None:
    """The nearest `stages/` directory at or above `start`."""
    for directory in [start.resolve(), *start.resolve().parents]:
        candidate = directory / "stages"
        if candidate.is_dir():
            return candidate
    return None


class StageVersionError(LookupError):
    """A stage's version cannot be read; the message says which file and why."""


def stage_version(stages_dir: Path, stage: str) -> str:
    """`project.version` from stages/<stage>/pyproject.toml."""
    pyproject = stages_dir / stage / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StageVersionError(f"no stage {stage!r}: {pyproject} does not exist") from None
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise StageVersionError(f"cannot read {pyproject}: {err}") from None
    version = data.get("project", {}).get("version")
    if not isinstance(version, str) or not version:
        raise StageVersionError(f"{pyproject} has no project.version")
    return version
