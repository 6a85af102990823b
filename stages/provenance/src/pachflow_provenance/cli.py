"""`pachflow-provenance`: the `link` stage, plus the lineage questions (run, commit,
model) from pachflow_lineage, so the stage's image can answer them too."""

from __future__ import annotations

import sys

import click

from pachflow_lineage.commands import LINEAGE_COMMANDS
from pachflow_lineage.options import CONTEXT
from pachflow_provenance.link import link_cmd


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="pachflow-provenance")
def main() -> None:
    """Lineage both ways between versioned data and MLflow.

    \b
    run RUN_ID        upstream of an MLflow run, down to raw_data
    commit REPO@ID    downstream of a commit: jobs, commits, runs, model versions
    model NAME/VER    upstream of a registered model version
    link IN OUT       the pipeline stage after train (reads run.json, writes lineage files)
    """


for _command in LINEAGE_COMMANDS:
    main.add_command(_command)
main.add_command(link_cmd)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
