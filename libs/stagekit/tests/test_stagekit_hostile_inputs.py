"""The shared input walker's rules for links and file names, and safe quoting of input."""

import os

import pytest

from pachflow_stagekit import BadInput, excerpt, find_files


def _names(root, found):
    return [p.relative_to(root).as_posix() for p in found]


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "in"
    (root / "real").mkdir(parents=True)
    (root / "real" / "a.csv").write_text("inside")
    return root


def test_links_inside_input_dir_are_followed_as_copies(root):
    (root / "link.csv").symlink_to(root / "real" / "a.csv")
    (root / "dirlink").symlink_to("real", target_is_directory=True)
    found = find_files(root, (".csv",), "CSV files")
    assert _names(root, found) == ["dirlink/a.csv", "link.csv", "real/a.csv"]


def test_file_link_leaving_input_dir_is_refused_naming_both(root, tmp_path):
    (tmp_path / "secret.csv").write_text("outside")
    (root / "b.csv").symlink_to(tmp_path / "secret.csv")
    with pytest.raises(BadInput) as err:
        find_files(root, (".csv",), "CSV files")
    message = err.value.format_message()
    assert f"{root}/b.csv: symbolic link to {tmp_path / 'secret.csv'}, outside INPUT_DIR" in (
        message
    )
    assert err.value.exit_code == 2


def test_directory_link_leaving_input_dir_is_refused_not_skipped(root, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "c.csv").write_text("outside")
    (root / "more").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(BadInput, match=r"/more: symbolic link to .*elsewhere, outside"):
        find_files(root, (".csv",), "CSV files")


def test_broken_link_and_loop_are_refused(root):
    (root / "gone.csv").symlink_to(root / "nothing.csv")
    with pytest.raises(BadInput, match=r"gone\.csv: symbolic link to .*, which does not exist"):
        find_files(root, (".csv",), "CSV files")
    os.unlink(root / "gone.csv")
    (root / "real" / "up").symlink_to("..", target_is_directory=True)
    with pytest.raises(BadInput, match=r"real/up: symbolic link to .*, a directory above it"):
        find_files(root, (".csv",), "CSV files")


def test_links_to_files_a_stage_does_not_read_are_ignored(root, tmp_path):
    (root / "notes.txt").symlink_to(tmp_path / "anything.txt")
    assert _names(root, find_files(root, (".csv",), "CSV files")) == ["real/a.csv"]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("a\nb.csv", r"'a\nb.csv'"),
        ("\x1b[2Jx.csv", r"'\x1b[2Jx.csv'"),
        ("evil\u202evsc.csv", r"'evil\u202evsc.csv'"),
        (os.fsdecode(b"caf\xe9.csv"), r"'caf\xe9.csv'"),
    ],
)
def test_unprintable_file_names_are_refused_quoted(tmp_path, name, shown):
    (tmp_path / name).write_text("")
    with pytest.raises(BadInput) as err:
        find_files(tmp_path, (".csv",), "CSV files")
    message = err.value.format_message()
    assert message.startswith(f"{tmp_path}/{shown}: the file name holds ")
    assert message.isprintable()


def test_unprintable_directory_name_is_refused_too(tmp_path):
    (tmp_path / "x\ny").mkdir()
    (tmp_path / "x\ny" / "a.csv").write_text("")
    with pytest.raises(BadInput, match="control character"):
        find_files(tmp_path, (".csv",), "CSV files")


def test_ordinary_names_with_spaces_and_accents_are_fine(tmp_path):
    (tmp_path / "résumé 2024.csv").write_text("")
    assert _names(tmp_path, find_files(tmp_path, (".csv",), "CSV files")) == ["résumé 2024.csv"]


def test_not_required_returns_empty_but_rules_still_hold(tmp_path):
    assert find_files(tmp_path, (".csv",), "CSV files", required=False) == []
    (tmp_path / "a\nb.csv").write_text("")
    with pytest.raises(BadInput):
        find_files(tmp_path, (".csv",), "CSV files", required=False)


def test_excerpt_escapes_and_bounds_what_it_quotes():
    assert excerpt("ok") == "'ok'"
    assert excerpt("a\x1b[31mb\n") == r"'a\x1b[31mb\n'"
    long = excerpt("x" * 3_000_000)
    assert long == "'" + "x" * 80 + "' (+2,999,920 more characters)"
    escaped = excerpt("\x00" * 1000)
    assert len(escaped) < 120 and escaped.isprintable()


def test_bad_input_messages_are_always_one_printable_line():
    message = BadInput("f.parquet: not readable (thrift: bad type \x0e\nmore)").format_message()
    assert message == r"f.parquet: not readable (thrift: bad type \x0e\nmore)"
    assert BadInput("plain ünïcode stays").format_message() == "plain ünïcode stays"
