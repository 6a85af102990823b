"""The `pfs://` MLflow dataset source: where train's dataset inputs say their data is
(pachflow_train.datasets). Importing this module registers it with MLflow (mlflow: seconds,
so only where runs are logged)."""

from __future__ import annotations

from typing import Any

from mlflow.data.dataset_source import DatasetSource

PFS_SCHEME = "pfs://"


class PfsDatasetSource(DatasetSource):
    """A commit (and path) in a Pachyderm repo, as an MLflow dataset source.

    URI `pfs://<project>/<repo>@<commit>/<path>`; source type `pfs`. MLflow refuses a
    `pfs://` source unless a DatasetSource for it is registered: importing this module
    does that (`register_pfs_source()`), so any process that imports it can also read such
    sources back. (Not an `mlflow.dataset_source` entry point: MLflow loads those while
    this module is still importing mlflow.data, a circular import.)
    """

    def __init__(self, project: str, repo: str, commit: str, path: str = "") -> None:
        self.project = project
        self.repo = repo
        self.commit = commit
        self.path = path.strip("/")

    @property
    def uri(self) -> str:
        return f"{PFS_SCHEME}{self.project}/{self.repo}@{self.commit}/{self.path}"

    @staticmethod
    def _get_source_type() -> str:
        return "pfs"

    def load(self, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{self.uri}: read it with `pachctl get file {self.repo}@{self.commit}:/"
            f"{self.path} --project {self.project}` (no Pachyderm download here)"
        )

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return isinstance(raw_source, str) and raw_source.startswith(PFS_SCHEME)

    @classmethod
    def _resolve(cls, raw_source: Any) -> PfsDatasetSource:
        return cls.from_uri(str(raw_source))

    @classmethod
    def from_uri(cls, uri: str) -> PfsDatasetSource:
        """Parse `pfs://project/repo@commit[/path]`; ValueError when malformed."""
        if not uri.startswith(PFS_SCHEME):
            raise ValueError(f"not a pfs:// URI: {uri!r}")
        project, _, rest = uri[len(PFS_SCHEME) :].partition("/")
        ref, _, path = rest.partition("/")
        repo, at, commit = ref.partition("@")
        if not (project and repo and at and commit):
            raise ValueError(f"expected pfs://<project>/<repo>@<commit>/<path>, found {uri!r}")
        return cls(project, repo, commit, path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "project": self.project,
            "repo": self.repo,
            "commit": self.commit,
            "path": self.path,
        }

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> PfsDatasetSource:
        return cls.from_uri(source_dict["uri"])


def register_pfs_source() -> None:
    """Register PfsDatasetSource with MLflow once per process (idempotent)."""
    from mlflow.data.dataset_source_registry import get_registered_sources, register_dataset_source

    # MLflow registers source classes; its annotations say instances (mlflow 3.17.2)
    if PfsDatasetSource not in get_registered_sources():  # type: ignore[comparison-overlap]
        register_dataset_source(PfsDatasetSource)  # type: ignore[arg-type]


register_pfs_source()
