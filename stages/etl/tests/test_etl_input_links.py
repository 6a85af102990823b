"""etl reads its inputs through the shared walker: its link and file-name rules hold here
too, even though a directory without Parquet files is an empty input, not an error."""

from __future__ import annotations

import pytest

from pachflow_etl.inputs import discover
from pachflow_stagekit import BadInput


def test_a_parquet_link_leaving_input_dir_is_refused(tmp_path):
    (tmp_path / "elsewhere.parquet").write_bytes(b"PAR1")
    (tmp_path / "in" / "shard=00").mkdir(parents=True)
    (tmp_path / "in" / "shard=00" / "a.parquet").symlink_to(tmp_path / "elsewhere.parquet")
    with pytest.raises(BadInput, match=r"shard=00/a\.parquet: symbolic link to .*outside"):
        discover(tmp_path / "in")


def test_a_shard_directory_link_leaving_input_dir_is_refused_not_ignored(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "shard=01").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(BadInput, match=r"shard=01: symbolic link to .*outside"):
        discover(tmp_path / "in")


def test_a_control_character_in_a_parquet_name_is_refused(tmp_path):
    (tmp_path / "in" / "shard=00").mkdir(parents=True)
    (tmp_path / "in" / "shard=00" / "a\nb.parquet").write_bytes(b"PAR1")
    with pytest.raises(BadInput, match="control character"):
        discover(tmp_path / "in")
