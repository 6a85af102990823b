"""Checking OpenLineage events against the official JSON schema of spec 2-0-2 and its
standard facets, offline.

The schema files are not part of this project: they are read from a reference folder
(`<repo>/../shared/reference/openlineage`, present in CI; or $PACHFLOW_OPENLINEAGE_SCHEMAS).
Where it is absent, `schema_check()` skips the calling test, naming the folder. Facet
schemas refer to the core schema by absolute URL; every file's `$id` is mapped to the file
itself through a `referencing.Registry`, so nothing is fetched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SCHEMAS_ENV = "PACHFLOW_OPENLINEAGE_SCHEMAS"
CORE = "OpenLineage.json"
#: The repository root: libs/testing/src/pachflow_testing/<this file>.
REPO = Path(__file__).resolve().parents[4]


def schema_dir() -> Path:
    return Path(os.environ.get(SCHEMAS_ENV) or REPO.parent / "shared/reference/openlineage")


def _facets(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, facet) for every facet of a RunEvent, DatasetEvent or JobEvent."""
    for where, holder in (("run", event.get("run")), ("job", event.get("job"))):
        for name, facet in ((holder or {}).get("facets") or {}).items():
            yield f"{where}.facets.{name}", facet
    for side, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        for i, dataset in enumerate(event.get(side) or []):
            for key in ("facets", extra):
                for name, facet in (dataset.get(key) or {}).items():
                    yield f"{side}[{i}].{key}.{name}", facet


def _leaves(errors: Any) -> Iterator[Any]:
    """The innermost errors: a oneOf/anyOf failure says only "not valid under any of the
    given schemas"; its context holds what is actually wrong."""
    for error in errors:
        if error.context:
            yield from _leaves(error.context)
        else:
            yield error


def schema_check() -> Callable[[dict[str, Any]], list[str]]:
    """A function event -> list of problems (empty when the event and each of its facets
    whose `_schemaURL` names a known schema validate); skips the test without schemas."""
    root = schema_dir()
    if not (root / CORE).is_file():
        pytest.skip(
            f"the OpenLineage 2-0-2 JSON schema is not at {root} (CI provides "
            f"../shared/reference/openlineage; or set {SCHEMAS_ENV})"
        )
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    documents = [
        json.loads(p.read_text()) for p in [root / CORE, *sorted(root.glob("facets/*.json"))]
    ]
    registry = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in documents
    )
    known = {doc["$id"] for doc in documents}
    core = documents[0]
    formats = Draft202012Validator.FORMAT_CHECKER

    def problems(event: dict[str, Any]) -> list[str]:
        # The event's own schemaURL names its kind (#/$defs/RunEvent): validating against
        # that gives the exact error, where the core's oneOf only says "none matched".
        url = event.get("schemaURL", "")
        if url.partition("#")[0] == core["$id"]:
            schema: dict[str, Any] = {"$ref": url}
            found = []
        else:
            schema, found = core, [f"event: schemaURL {url!r} is not spec 2-0-2's"]
        validator = Draft202012Validator(schema, registry=registry, format_checker=formats)
        found += [
            f"event: {e.json_path}: {e.message}" for e in _leaves(validator.iter_errors(event))
        ]
        for where, facet in _facets(event):
            url = facet.get("_schemaURL", "")
            if url.partition("#")[0] not in known:
                found.append(f"{where}: _schemaURL {url!r} names no known schema")
                continue
            validator = Draft202012Validator(
                {"$ref": url}, registry=registry, format_checker=formats
            )
            found += [
                f"{where}: {e.json_path}: {e.message}"
                for e in _leaves(validator.iter_errors(facet))
            ]
        return found

    return problems
