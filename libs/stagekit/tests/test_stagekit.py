import click
import pytest
from click.testing import CliRunner

from pachflow_stagekit import BadInput, atomic_fresh_output, atomic_output, find_files


def test_find_files_sorted_recursive_and_skips_hidden(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.csv").write_text("")
    (tmp_path / "a.csv.gz").write_text("")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "y.csv").write_text("")
    (tmp_path / "notes.txt").write_text("")
    found = find_files(tmp_path, (".csv", ".csv.gz"), "PaySim CSV files")
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a.csv.gz", "b/x.csv"]


def test_find_files_missing_dir_and_no_match_are_bad_input(tmp_path):
    with pytest.raises(BadInput, match="does not exist"):
        find_files(tmp_path / "nope", (".csv",), "CSV files")
    with pytest.raises(BadInput, match=r"no CSV files \(\.csv\) under"):
        find_files(tmp_path, (".csv",), "CSV files")


def test_bad_input_exits_2_with_one_line():
    @click.command()
    def cmd() -> None:
        raise BadInput("data.csv line 3, column amount: '-1' is negative")

    result = CliRunner().invoke(cmd)
    assert result.exit_code == 2
    assert "data.csv line 3, column amount" in result.output


def test_bad_input_details_are_one_escaped_line_each():
    @click.command()
    def cmd() -> None:
        raise BadInput("the pipeline specs are not valid:", ["a.json: no input", "b\x1b.json"])

    result = CliRunner().invoke(cmd)
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "Error: the pipeline specs are not valid:",
        "a.json: no input",
        "b\\x1b.json",
    ]


def test_atomic_output_publishes_on_success(tmp_path):
    out = tmp_path / "out"
    with atomic_output(out) as staging:
        (staging / "shard=01").mkdir()
        (staging / "shard=01" / "a.parquet").write_text("x")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "shard=01",
        "shard=01/a.parquet",
    ]


def test_atomic_output_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_output(out) as staging:
        (staging / "half.parquet").write_text("x")
        raise RuntimeError("boom")
    assert list(out.iterdir()) == []


def test_atomic_output_merges_directories_but_never_overwrites(tmp_path):
    out = tmp_path / "out"
    (out / "shard=01").mkdir(parents=True)
    (out / "shard=01" / "a.parquet").write_text("first")
    with atomic_output(out) as staging:
        (staging / "shard=01").mkdir()
        (staging / "shard=01" / "b.parquet").write_text("second")
    assert (out / "shard=01" / "b.parquet").read_text() == "second"
    with pytest.raises(FileExistsError, match=r"a\.parquet"), atomic_output(out) as staging:
        (staging / "shard=01").mkdir()
        (staging / "shard=01" / "a.parquet").write_text("clobber")
        (staging / "new.txt").write_text("n")
    assert (out / "shard=01" / "a.parquet").read_text() == "first"
    assert not (out / "new.txt").exists()


def test_atomic_fresh_output_names_a_clash_as_bad_input_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.parquet").write_text("first")
    with pytest.raises(BadInput) as raised, atomic_fresh_output(out) as staging:
        (staging / "a.parquet").write_text("clobber")
        (staging / "new.txt").write_text("n")
    assert str(raised.value) == (
        f"would overwrite existing output: {out / 'a.parquet'} "
        f"(expected an OUTPUT_DIR {out} without them)"
    )
    assert (out / "a.parquet").read_text() == "first"
    assert not (out / "new.txt").exists()


def test_env_options_read_prefix_and_option_name(monkeypatch):
    from pachflow_stagekit.options import env_options

    @click.command()
    @env_options("PACHFLOW_X")("--max-depth", type=int, default=5)
    def cmd(max_depth: int) -> None:
        click.echo(str(max_depth))

    assert CliRunner().invoke(cmd).output == "5\n"
    monkeypatch.setenv("PACHFLOW_X_MAX_DEPTH", "7")
    assert CliRunner().invoke(cmd).output == "7\n"
    assert "PACHFLOW_X_MAX_DEPTH" in CliRunner().invoke(cmd, ["--help"]).output


def test_as_bad_input_turns_only_the_named_errors_into_exit_2_with_their_line() -> None:
    from pachflow_stagekit import EXIT_BAD_INPUT, BadInput, as_bad_input

    class CheckFailed(ValueError):
        pass

    with pytest.raises(BadInput) as raised, as_bad_input(CheckFailed):
        raise CheckFailed("in/a.parquet: column 'amount': 1 negative value(s)")
    assert raised.value.exit_code == EXIT_BAD_INPUT
    assert raised.value.format_message() == "in/a.parquet: column 'amount': 1 negative value(s)"
    with pytest.raises(KeyError), as_bad_input(CheckFailed):  # any other error: as it was
        raise KeyError("not a check")
