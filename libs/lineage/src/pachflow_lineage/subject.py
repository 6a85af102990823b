"""What a lineage question is about, as people name it: an MLflow run id (or a unique
prefix of 4+ hex digits of it, as the CLI prints them), or a registered model version
(NAME/VERSION, NAME@ALIAS or NAME/ALIAS). The forms are parsed by pachflow_store.refs,
the one parser of names every command uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pachflow_store as ps
from pachflow_lineage.errors import LineageError

if TYPE_CHECKING:
    from pachflow_lineage.graph import ModelVersion
    from pachflow_lineage.tracking import Tracking

HELP = (
    "RUN_ID (or 4+ of its hex digits), NAME/VERSION (e.g. pachflow-fraud-detector/3) or NAME@ALIAS"
)


@dataclass(frozen=True)
class Subject:
    run_id: str = ""  # a full id or a prefix
    model: ps.ModelName | None = None

    @property
    def label(self) -> str:
        return f"run {self.run_id}" if self.model is None else f"model {self.model.text}"


def parse_subject(text: str) -> Subject:
    """Parse without asking MLflow; LineageError saying what was expected."""
    if ps.is_id_prefix(text):
        return Subject(run_id=text)
    try:
        return Subject(model=ps.parse_model_name(text))
    except ps.BadName:
        raise LineageError(f"malformed subject {text!r}: expected {HELP}") from None


def parse_model(text: str) -> ps.ModelName:
    """A registered model version: LineageError saying what was expected."""
    try:
        return ps.parse_model_name(text)
    except ps.BadName as exc:
        raise LineageError(str(exc)) from None


def resolve_run(tracking: Tracking, subject: Subject) -> tuple[str, ModelVersion | None]:
    """The run id a subject names, and the model version when it names one."""
    if subject.model is None:
        run_id = tracking.resolve_run_id(subject.run_id)
        tracking.get_run(run_id)  # UnknownRun when absent
        return run_id, None
    mv = tracking.get_model_version(subject.model.name, subject.model.version_or_alias)
    if not mv.run_id:
        raise LineageError(f"model version {mv.name}/{mv.version} names no MLflow run")
    return mv.run_id, mv
