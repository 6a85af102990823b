"""`pachflow`: the control CLI. Each command group lives in its own module under
pachflow.commands and is registered here."""

from __future__ import annotations

import click

from pachflow.commands import COMMANDS


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="pachflow")
def main() -> None:
    """Run Pachyderm pipeline specs on a cluster or on one machine, and generate PaySim data.

    The specs live in pipelines/*.json; the stages they call live in stages/<name>/.
    """


for command in COMMANDS:
    main.add_command(command)
