"""Read one spec file as a JSON object, or say why it is not one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pachflow.pipeline_spec.errors import Problem


def read_json(path: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The file's JSON object, or the problem that stops it being one."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        return None, [Problem("", f"cannot read: {err.strerror or err}")]
    except UnicodeDecodeError as err:
        line = err.object[: err.start].count(b"\n") + 1
        return None, [
            Problem("", f"not UTF-8 text: byte 0x{err.object[err.start]:02x} on line {line}")
        ]
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        return None, [
            Problem("", f"not valid JSON: {err.msg} at line {err.lineno} column {err.colno}")
        ]
    if not isinstance(raw, dict):
        return None, [Problem("", "expected a JSON object (one pipeline spec per file)")]
    return raw, []
