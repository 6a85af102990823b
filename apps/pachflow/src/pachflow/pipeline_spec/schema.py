"""The pipeline-spec schema, read from the betterproto message classes in pachyderm_sdk.

pachyderm_sdk does not validate: `CreatePipelineRequest().from_dict()` silently drops unknown
fields and keeps wrong types. This module walks the generated dataclasses (field names, proto
types, repeated/map/enum/nested messages from betterproto's metadata) and checks a JSON spec
against them the way pachd's protojson parser would, reporting every problem with its path.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import functools
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import betterproto
from betterproto.casing import camel_case
from betterproto.casing import snake_case as _snake

from pachflow.pipeline_spec.errors import Problem

# protojson Duration: decimal seconds with an "s" suffix ("600s", "1.5s"); the pattern of
# Pachyderm's official JSON schema (no negative timeouts).
DURATION_RE = re.compile(r"^([0-9]+\.?[0-9]*|\.[0-9]+)s$")
_INT_TYPES = {
    "int32": (-(2**31), 2**31 - 1),
    "sint32": (-(2**31), 2**31 - 1),
    "sfixed32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "sint64": (-(2**63), 2**63 - 1),
    "sfixed64": (-(2**63), 2**63 - 1),
    "uint32": (0, 2**32 - 1),
    "fixed32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
    "fixed64": (0, 2**64 - 1),
}
_INT_RE = re.compile(r"^-?[0-9]+$")


@dataclass(frozen=True)
class FieldInfo:
    """What one message field accepts in JSON."""

    name: str  # snake_case (the proto name, as betterproto names the attribute)
    json_name: str  # lowerCamelCase (protojson's json_name)
    proto_type: str  # betterproto proto type: "string", "int64", "message", "map", "enum", ...
    repeated: bool
    message: type[betterproto.Message] | None  # nested message class, for "message"
    scalar: type | None  # timedelta/datetime for well-known types, enum class for "enum"
    map_value: FieldInfo | None  # the value's FieldInfo for "map" (keys are strings)
    wraps: str | None  # google.protobuf wrapper type (e.g. Int64Value) -> its proto type
    group: str | None = None  # the oneof this field belongs to: at most one may be set


# Proto fields whose JSON name is not lowerCamelCase of the snake_case name betterproto gives:
# pps.Egress has `string URL = 1`, so protojson's name for it is "URL".
_JSON_NAME_OVERRIDES = {("Egress", "url"): "URL"}

# CreatePipelineRequest fields that are request flags, not part of a spec: the official JSON
# schema leaves them out and pachctl/pachflow set them per call (update, dry run, reprocess).
REQUEST_ONLY_FIELDS = {
    "CreatePipelineRequest": {"update", "reprocess", "dry_run", "spec_commit"},
}


def _json_key(python_name: str) -> str:
    # betterproto appends "_" to names that clash with Python keywords; protojson does not.
    return python_name.rstrip("_")


@functools.cache
def message_fields(cls: type[betterproto.Message]) -> dict[str, FieldInfo]:
    """The fields of a betterproto message class, keyed by snake_case name."""
    meta = betterproto.ProtoClassMetadata(cls)
    hints = cls._type_hints()
    out: dict[str, FieldInfo] = {}
    excluded = REQUEST_ONLY_FIELDS.get(cls.__name__, set())
    # betterproto messages are dataclasses; its Message type does not say so
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        fm: betterproto.FieldMetadata = field.metadata["betterproto"]
        name = _json_key(field.name)
        if name in excluded:
            continue
        hint = hints[field.name]
        repeated = typing.get_origin(hint) is list
        resolved = meta.cls_by_field.get(field.name)
        map_value = None
        message = None
        scalar = None
        if fm.proto_type == "map":
            assert fm.map_types is not None
            value_cls = meta.cls_by_field.get(f"{field.name}.value")
            map_value = FieldInfo(
                name="value",
                json_name="value",
                proto_type=fm.map_types[1],
                repeated=False,
                message=value_cls if _is_message(value_cls) else None,
                scalar=value_cls
                if isinstance(value_cls, type) and issubclass(value_cls, enum.Enum)
                else None,
                map_value=None,
                wraps=None,
            )
        elif fm.proto_type == "message":
            if _is_message(resolved) and not fm.wraps:
                message = resolved
            else:
                scalar = resolved
        elif fm.proto_type == "enum":
            scalar = resolved
        out[name] = FieldInfo(
            name=name,
            json_name=_JSON_NAME_OVERRIDES.get((cls.__name__, name), camel_case(name)),
            proto_type=fm.proto_type,
            repeated=repeated,
            message=message,
            scalar=scalar,
            map_value=map_value,
            wraps=fm.wraps,
            group=fm.group,
        )
    return out


def _is_message(cls: object) -> bool:
    return isinstance(cls, type) and issubclass(cls, betterproto.Message)


@functools.cache
def _lookup(cls: type[betterproto.Message]) -> dict[str, FieldInfo]:
    """Accepted JSON keys -> field: both the camelCase json_name and the proto name, as pachd."""
    fields = message_fields(cls)
    keys: dict[str, FieldInfo] = {}
    for info in fields.values():
        if (cls.__name__, info.name) not in _JSON_NAME_OVERRIDES:
            keys[info.name] = info
        keys[info.json_name] = info
    return keys


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def check_message(value: Any, cls: type[betterproto.Message], path: str = "") -> list[Problem]:
    """Every problem in `value` as JSON for message `cls` (unknown fields, wrong types)."""
    if not isinstance(value, dict):
        return [Problem(path, f"expected an object ({cls.__name__}), found {_type_name(value)}")]
    keys = _lookup(cls)
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    oneofs: dict[str, str] = {}
    for key, item in value.items():
        info = keys.get(key)
        where = _join(path, key)
        if info is None:
            if _snake(key) in REQUEST_ONLY_FIELDS.get(cls.__name__, ()):
                problems.append(
                    Problem(where, "a request flag, not a spec field: pachflow deploy sets it")
                )
            else:
                problems.append(Problem(where, _unknown_message(key, cls)))
            continue
        if info.name in seen:
            problems.append(Problem(where, f"field given twice (also as {seen[info.name]!r})"))
            continue
        seen[info.name] = key
        if item is None:
            continue  # protojson: null means "not set" for every field kind
        if info.group:
            if info.group in oneofs:
                problems.append(
                    Problem(where, f"only one of a oneof may be set (also {oneofs[info.group]!r})")
                )
            oneofs[info.group] = key
        problems.extend(check_field(item, info, where))
    return problems


def _unknown_message(key: str, cls: type[betterproto.Message]) -> str:
    names = [f.json_name for f in message_fields(cls).values()]
    lowered = {n.lower(): n for n in names}
    candidates = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if not candidates:
        snake_hit = lowered.get(key.replace("_", "").lower())
        candidates = [snake_hit] if snake_hit else []
    hint = f" (did you mean {candidates[0]}?)" if candidates else ""
    return f"unknown field{hint}"


def check_field(value: Any, info: FieldInfo, path: str) -> list[Problem]:
    if info.proto_type == "map":
        if not isinstance(value, dict):
            return [Problem(path, f"expected an object (map), found {_type_name(value)}")]
        assert info.map_value is not None
        problems: list[Problem] = []
        for key, item in value.items():
            problems.extend(check_single(item, info.map_value, f"{path}.{key}"))
        return problems
    if info.repeated:
        if not isinstance(value, list):
            return [Problem(path, f"expected an array, found {_type_name(value)}")]
        problems = []
        for index, item in enumerate(value):
            problems.extend(check_single(item, info, f"{path}[{index}]"))
        return problems
    return check_single(value, info, path)


def check_single(value: Any, info: FieldInfo, path: str) -> list[Problem]:
    """Check one (non-repeated) value of a field's type."""
    kind = info.wraps or info.proto_type
    if info.message is not None:
        return check_message(value, info.message, path)
    if info.scalar is timedelta:
        if not isinstance(value, str) or not DURATION_RE.match(value):
            return [
                Problem(
                    path,
                    f'bad duration {value!r}: expected seconds with an s suffix, e.g. "600s"',
                )
            ]
        return []
    if info.scalar is datetime:
        if not isinstance(value, str):
            return [
                Problem(path, f"expected an RFC 3339 timestamp string, found {_type_name(value)}")
            ]
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return [Problem(path, f"bad timestamp {value!r}: expected RFC 3339")]
        return []
    if kind == "enum":
        return _check_enum(value, info, path)
    if kind in ("string",):
        return [] if isinstance(value, str) else [_wrong(path, "a string", value)]
    if kind == "bool":
        return [] if isinstance(value, bool) else [_wrong(path, "true or false", value)]
    if kind in _INT_TYPES:
        return _check_int(value, kind, path)
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [_wrong(path, "a number", value)]
        return []
    if kind == "bytes":
        return [] if isinstance(value, str) else [_wrong(path, "a base64 string", value)]
    return [Problem(path, f"unsupported field type {kind!r}")]


def _wrong(path: str, expected: str, value: Any) -> Problem:
    return Problem(path, f"expected {expected}, found {_type_name(value)} {value!r}")


def _check_int(value: Any, kind: str, path: str) -> list[Problem]:
    # protojson accepts integers as JSON numbers or as decimal strings.
    if isinstance(value, bool):
        return [_wrong(path, "an integer", value)]
    if isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str) and _INT_RE.match(value):
        number = int(value)
    else:
        return [_wrong(path, "an integer", value)]
    low, high = _INT_TYPES[kind]
    if not low <= number <= high:
        return [Problem(path, f"{number} is out of range for {kind} ({low}..{high})")]
    return []


def _check_enum(value: Any, info: FieldInfo, path: str) -> list[Problem]:
    enum_cls = info.scalar
    assert isinstance(enum_cls, type) and issubclass(enum_cls, enum.Enum)
    names = [member.name for member in enum_cls]
    if isinstance(value, str):
        if value in names:
            return []
        close = difflib.get_close_matches(value, names, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return [Problem(path, f"unknown value {value!r}, expected one of {', '.join(names)}{hint}")]
    numbers = {member.value for member in enum_cls}
    if isinstance(value, int) and not isinstance(value, bool) and value in numbers:
        return []
    return [_wrong(path, f"one of {', '.join(names)}", value)]


def to_snake(value: Any, cls: type[betterproto.Message]) -> dict[str, Any]:
    """A copy of a (checked) spec with every field key in snake_case; map keys untouched."""
    return _rename_keys(value, cls, lambda info: info.name)


def to_camel(value: Any, cls: type[betterproto.Message]) -> dict[str, Any]:
    """A copy with every field key in camelCase (the official JSON schema's spelling)."""
    return _rename_keys(value, cls, lambda info: info.json_name)


def _rename_keys(
    value: Any, cls: type[betterproto.Message], key_of: Callable[[FieldInfo], str]
) -> dict[str, Any]:
    """A copy of a message dict with every field key spelled by `key_of`; unknown keys dropped."""
    keys = _lookup(cls)
    out: dict[str, Any] = {}
    for key, item in value.items():
        info = keys.get(key)
        if info is None:
            continue
        out[key_of(info)] = _rename_field(item, info, key_of)
    return out


def _rename_field(value: Any, info: FieldInfo, key_of: Callable[[FieldInfo], str]) -> Any:
    if value is None:
        return None
    if info.proto_type == "map":
        assert info.map_value is not None
        return {k: _rename_field(v, info.map_value, key_of) for k, v in value.items()}
    if info.message is not None:
        if info.repeated:
            return [_rename_keys(item, info.message, key_of) for item in value]
        return _rename_keys(value, info.message, key_of)
    return value
