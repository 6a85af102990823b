"""train reads its inputs through the shared walker: a link out of INPUT_DIR is refused."""

from __future__ import annotations

import pytest

from pachflow_stagekit import BadInput
from pachflow_train.data import feature_files


def test_a_features_link_leaving_input_dir_is_refused(tmp_path):
    (tmp_path / "elsewhere.parquet").write_bytes(b"PAR1")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "part-0.parquet").symlink_to(tmp_path / "elsewhere.parquet")
    with pytest.raises(BadInput, match=r"part-0\.parquet: symbolic link to .*outside INPUT_DIR"):
        feature_files(tmp_path / "in")
