"""The validator's view of CreatePipelineRequest (walked from pachyderm_sdk's betterproto
classes) must match Pachyderm's official JSON schema, field for field and type for type.

The schema is a committed copy (tests/data/README.md says where it comes from)."""

from __future__ import annotations

import enum
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import betterproto
from pachyderm_sdk.api.pps import CreatePipelineRequest

from pachflow.pipeline_spec.schema import FieldInfo, message_fields

SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "CreatePipelineRequest.schema.json").read_text()
)
DEFINITIONS: dict[str, Any] = SCHEMA["definitions"]
_INTS = {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64"}


def _schema_types(prop: dict[str, Any]) -> set[str]:
    types = {prop["type"]} if isinstance(prop.get("type"), str) else set()
    types.update(o["type"] for o in prop.get("oneOf", []) if isinstance(o.get("type"), str))
    return types - {"null"}


def _ref(prop: dict[str, Any]) -> str | None:
    ref = prop.get("$ref") or prop.get("items", {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def _compare(cls: type[betterproto.Message], name: str, path: str, seen: set[str]) -> list[str]:
    if name in seen:
        return []
    seen.add(name)
    props: dict[str, Any] = DEFINITIONS[name]["properties"]
    ours = {info.json_name: info for info in message_fields(cls).values()}
    diffs = [f"{path or name}: only in schema: {k}" for k in sorted(set(props) - set(ours))]
    diffs += [f"{path or name}: only in pachflow: {k}" for k in sorted(set(ours) - set(props))]
    for key in sorted(set(props) & set(ours)):
        diffs += _compare_field(ours[key], props[key], f"{path}.{key}" if path else key, seen)
    return diffs


def _compare_field(info: FieldInfo, prop: dict[str, Any], path: str, seen: set[str]) -> list[str]:
    types = _schema_types(prop)
    if info.proto_type == "map":
        ok = "object" in types and isinstance(prop.get("additionalProperties"), dict)
        return [] if ok else [f"{path}: map, schema says {prop}"]
    if info.repeated:
        if "array" not in types:
            return [f"{path}: repeated, schema says {sorted(types)}"]
        prop = prop["items"]
        types = _schema_types(prop)
    if info.message is not None:
        ref = _ref(prop)
        if ref is None:
            return [f"{path}: message {info.message.__name__}, schema has no $ref"]
        return _compare(info.message, ref, path, seen)
    if info.scalar is timedelta:
        return [] if "pattern" in prop else [f"{path}: duration, schema has no pattern"]
    if info.scalar is datetime:
        return [] if "string" in types else [f"{path}: timestamp, schema says {sorted(types)}"]
    if isinstance(info.scalar, type) and issubclass(info.scalar, enum.Enum):
        names = {m.name for m in info.scalar}
        return [] if names == set(prop.get("enum", [])) else [f"{path}: enum {names} vs {prop}"]
    kind = info.wraps or info.proto_type
    expected = {
        "string": "string",
        "bool": "boolean",
        "float": "number",
        "double": "number",
    }.get(kind, "integer" if kind in _INTS else kind)
    return [] if expected in types else [f"{path}: {kind}, schema says {sorted(types)}"]


def test_validator_knows_exactly_the_official_schema_fields() -> None:
    seen: set[str] = set()
    assert _compare(CreatePipelineRequest, "CreatePipelineRequest", "", seen) == []
    # every message reachable in the schema was compared
    assert _reachable("CreatePipelineRequest") == seen


def _reachable(name: str, found: set[str] | None = None) -> set[str]:
    found = set() if found is None else found
    if name in found or "properties" not in DEFINITIONS[name]:
        return found
    found.add(name)
    for prop in DEFINITIONS[name]["properties"].values():
        ref = _ref(prop)
        if ref:
            _reachable(ref, found)
    return found


def test_request_flags_are_not_spec_fields() -> None:
    """update/reprocess/dryRun/specCommit are per-call flags: the schema leaves them out."""
    props = DEFINITIONS["CreatePipelineRequest"]["properties"]
    ours = {info.json_name for info in message_fields(CreatePipelineRequest).values()}
    for flag in ("update", "reprocess", "dryRun", "specCommit"):
        assert flag not in props
        assert flag not in ours
