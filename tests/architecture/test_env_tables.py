"""Each command's README lists exactly the environment variables its options read.

The variables are read from the click command objects (every option's `envvar`, every
subcommand of a group), the README from its options table (the column headed `env`), so
an option that gains, renames or loses a variable fails here until its README says so.
"""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path

import click
import pytest

REPO = Path(__file__).resolve().parents[2]

#: The console scripts and the README that documents each.
COMMANDS = {
    "pachflow-split": "stages/split/README.md",
    "pachflow-etl": "stages/etl/README.md",
    "pachflow-train": "stages/train/README.md",
    "pachflow-score": "stages/score/README.md",
    "pachflow-provenance": "stages/provenance/README.md",
    "pachflow": "apps/pachflow/README.md",
}
ENV_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


def declared(command: click.Command, ctx: click.Context) -> set[str]:
    """Every variable an option of `command` or of its subcommands reads."""
    names: set[str] = set()
    for param in command.params:
        if param.envvar:
            names.update([param.envvar] if isinstance(param.envvar, str) else param.envvar)
    if isinstance(command, click.Group):  # lazy groups load a subcommand on get_command
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, name
            names |= declared(sub, click.Context(sub, parent=ctx, info_name=name))
    return names


def documented(readme: Path) -> set[str]:
    """The variables named in the `env` column of the README's tables."""
    names: set[str] = set()
    column: int | None = None
    for line in readme.read_text().splitlines():
        if not line.startswith("|"):
            column = None
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if column is None:
            column = cells.index("env") if "env" in cells else -1
        elif column >= 0 and not set(cells[column]) <= set("-: "):
            names.update(ENV_NAME.findall(cells[column]))
    return names


def _command(script: str) -> click.Command:
    (entry,) = entry_points(group="console_scripts", name=script)
    command = entry.load()
    assert isinstance(command, click.Command)
    return command


@pytest.mark.parametrize("script", COMMANDS)
def test_readme_env_table_lists_the_variables_the_cli_reads(script: str) -> None:
    command = _command(script)
    readme = REPO / COMMANDS[script]
    cli = declared(command, click.Context(command, info_name=script))
    assert cli, f"{script} reads no environment variable: drop it from COMMANDS"
    assert documented(readme) == cli, (
        f"{readme.relative_to(REPO)}: its options table's env column must list exactly "
        f"{sorted(cli)}"
    )


def test_a_variable_missing_from_the_table_is_found(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "| option | env | default |\n|---|---|---|\n| `--a` | `PACHFLOW_X_A` | 1 |\n\n"
        "| other | table |\n|---|---|\n| `PACHFLOW_NOT_ENV` | x |\n"
    )

    @click.command()
    @click.option("--a", envvar="PACHFLOW_X_A")
    @click.option("--b", envvar="PACHFLOW_X_B")
    def cmd(a: str, b: str) -> None: ...

    assert documented(readme) == {"PACHFLOW_X_A"}
    assert declared(cmd, click.Context(cmd)) == {"PACHFLOW_X_A", "PACHFLOW_X_B"}
