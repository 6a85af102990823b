"""provenance reads train's manifest through the shared walker: a manifest linked from
outside INPUT_DIR (another run's) is refused, not followed."""

from __future__ import annotations

import json

import pytest

from pachflow_provenance.link import read_manifest
from pachflow_stagekit import BadInput


def test_a_manifest_link_leaving_input_dir_is_refused(tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "run.json").write_text(json.dumps({"run_id": "not-this-datum"}))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "run.json").symlink_to(tmp_path / "other" / "run.json")
    with pytest.raises(BadInput, match=r"run\.json: symbolic link to .*outside INPUT_DIR"):
        read_manifest(tmp_path / "in")
