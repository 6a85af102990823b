"""Finding Java 17+ for Spark, and the message when it is missing or too old."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from pachflow_spark import JavaMissing, require_java
from pachflow_spark.java import parse_java_version


@pytest.mark.parametrize(
    ("text", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"\nJava(TM) SE Runtime Environment', 8),
        ('openjdk version "11.0.2" 2019-01-15', 11),
        ("no version here", None),
    ],
)
def test_parse_java_version(text, major):
    assert parse_java_version(text) == major


def _fake_java(home: Path, version: str) -> Path:
    """A real executable printing what `java -version` prints (on stderr)."""
    java = home / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\"' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IXUSR)
    return java


def test_java_8_is_refused_with_an_install_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    _fake_java(tmp_path, "1.8.0_392")
    with pytest.raises(JavaMissing, match=r"is Java 8; Spark 4 needs Java 17\+.*openjdk-17"):
        require_java()


def test_java_home_wins_over_path(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    _fake_java(tmp_path, "21.0.1")
    assert require_java() == 21


def test_no_java_at_all(tmp_path, monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no java on PATH
    with pytest.raises(JavaMissing) as info:
        require_java()
    message = str(info.value)
    assert "Java 17+ not found" in message and "openjdk-17-jre-headless" in message


@pytest.mark.skipif(
    not (os.environ.get("JAVA_HOME") or shutil.which("java")), reason="no Java on this machine"
)
def test_this_machine_has_java_17_or_newer():
    assert require_java() >= 17
