"""Fixtures for the local runner's tests: a private $PACHFLOW_HOME, spec files written on
the fly, and tiny fake stage scripts (python files run as argv, like a stage's console
script) so the runner is tested without the real stages."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from pachflow.local.progress import Progress
from pachflow.local.runner import Runner, RunSummary
from pachflow.local.specs import load_specs
from pachflow_store import Store


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "pachflow-home"
    monkeypatch.setenv("PACHFLOW_HOME", str(path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return path


@pytest.fixture
def store(home: Path) -> Iterator[Store]:
    with Store(home) as s:
        yield s


@pytest.fixture
def specs_dir(tmp_path: Path) -> Path:
    path = tmp_path / "specs"
    path.mkdir()
    return path


@pytest.fixture
def script(tmp_path: Path) -> Callable[[str, str], list[str]]:
    """script(name, body) -> argv prefix [python, file]; body is dedented Python with `src`
    (argv[1]) and `out` (argv[2]) as Paths, and os/sys/json/pathlib imported."""

    def make(name: str, body: str) -> list[str]:
        path = tmp_path / f"{name}.py"
        path.write_text(
            "import json, os, pathlib, sys, time\n"
            "src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])\n"
            + textwrap.dedent(body)
        )
        return [sys.executable, str(path)]

    return make


COPY = """
for f in sorted(src.rglob("*")):
    if f.is_file():
        dest = out / (f.relative_to(src).as_posix() + ".out")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(f.read_bytes())
"""


@pytest.fixture
def write_spec(specs_dir: Path) -> Callable[..., Path]:
    """write_spec(name, cmd, repo, glob="/*", **top_level_fields) -> the spec file."""

    def make(
        name: str,
        cmd: list[str],
        repo: str,
        glob: str = "/*",
        transform: dict[str, Any] | None = None,
        input: dict[str, Any] | None = None,
        **fields: Any,
    ) -> Path:
        spec = {
            "pipeline": {"name": name, "project": {"name": "default"}},
            "transform": {"image": f"test/{name}:0.1.0", "cmd": cmd, **(transform or {})},
            "input": input or {"pfs": {"repo": repo, "branch": "master", "glob": glob}},
            **fields,
        }
        path = specs_dir / f"{name}.json"
        path.write_text(json.dumps(spec, indent=2))
        return path

    return make


@pytest.fixture
def raw_pipeline(
    write_spec: Callable[..., Path], script: Callable[[str, str], list[str]], tmp_path: Path
) -> Callable[..., None]:
    """raw_pipeline(name, stage, body, env, files=("x.txt",), **spec_fields): pipeline
    `name` over repo raw running the script `stage` (`body` as for `script`) on /pfs/raw ->
    /pfs/out with `env` as its spec's env (a stage sees no variable of the shell, as on a
    worker), and `files` (each holding its own name) put into raw by `pachflow put`."""

    def make(
        name: str,
        stage: str,
        body: str,
        env: dict[str, str],
        files: Sequence[str] = ("x.txt",),
        **fields: Any,
    ) -> None:
        write_spec(
            name,
            [*script(stage, body), "/pfs/raw", "/pfs/out"],
            "raw",
            transform={"env": env},
            **fields,
        )
        paths = [tmp_path / file for file in files]
        for path in paths:
            path.write_text(path.name)
        put = subprocess.run(
            [str(Path(sys.executable).parent / "pachflow"), "put", "raw", *map(str, paths)],
            capture_output=True,
            text=True,
        )
        assert put.returncode == 0, put.stderr

    return make


@pytest.fixture
def run(store: Store, specs_dir: Path) -> Callable[..., RunSummary]:
    def go(reprocess: frozenset[str] = frozenset(), cores: int = 2) -> RunSummary:
        return Runner(
            store,
            load_specs(specs_dir),
            progress=Progress(quiet=True),
            reprocess=reprocess,
            cores=cores,
        ).run()

    return go


@pytest.fixture
def put(store: Store, tmp_path: Path) -> Callable[..., Any]:
    """put(repo, {path: text}) -> the new commit."""

    def go(repo: str, files: dict[str, str]) -> Any:
        local_dir = tmp_path / "put-files"
        pairs = []
        for n, (path, text) in enumerate(files.items()):
            local = local_dir / f"{n}-{Path(path).name}"
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_text(text)
            pairs.append((path, local))
        return store.put_files(repo, pairs)

    return go


@pytest.fixture
def copy_stage(script: Callable[[str, str], list[str]]) -> list[str]:
    """A stage that copies every input file to <path>.out: argv ending in /pfs paths."""
    return script("copy", COPY)


@pytest.fixture
def ol_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """OpenLineage on, through the client's file transport: the events land in this file."""
    path = tmp_path / "openlineage.ndjson"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(path))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    return path


@pytest.fixture
def ol_events() -> Callable[[Path], list[dict]]:
    """(ol_file) -> the events sent so far, in order."""

    def read(path: Path) -> list[dict]:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    return read
