"""What a lineage question is about, as people name it: an MLflow run id, a registered
model version (NAME/VERSION), or an alias (NAME@ALIAS or NAME/ALIAS)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pachflow_lineage.errors import LineageError

if TYPE_CHECKING:
    from pachflow_lineage.model import ModelVersion
    from pachflow_lineage.tracking import Tracking

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
HELP = "RUN_ID (32 hex), NAME/VERSION (e.g. pachflow-fraud-detector/3) or NAME@ALIAS"


@dataclass(frozen=True)
class Subject:
    run_id: str = ""
    model: str = ""
    version: str = ""  # a number or an alias

    @property
    def label(self) -> str:
        return f"run {self.run_id}" if self.run_id else f"model {self.model}/{self.version}"


def parse_subject(text: str) -> Subject:
    """Parse without asking MLflow; LineageError saying what was expected."""
    if _RUN_ID.match(text):
        return Subject(run_id=text)
    for sep in ("@", "/"):
        name, found, version = text.rpartition(sep)
        if found and name and version and "/" not in version:
            return Subject(model=name, version=version)
    raise LineageError(f"malformed subject {text!r}: expected {HELP}")


def resolve_run(tracking: Tracking, subject: Subject) -> tuple[str, ModelVersion | None]:
    """The run id a subject names, and the model version when it names one."""
    if subject.run_id:
        tracking.get_run(subject.run_id)  # UnknownRun when absent
        return subject.run_id, None
    mv = tracking.get_model_version(subject.model, subject.version)
    if not mv.run_id:
        raise LineageError(f"model version {mv.name}/{mv.version} names no MLflow run")
    return mv.run_id, mv
