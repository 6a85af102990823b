"""`pachflow lineage run|commit|model`: the provenance package's own commands (the same
code as `pachflow-provenance run|commit|model`), loaded only when used so other pachflow
commands do not pay for importing MLflow."""

from __future__ import annotations

import click

NAMES = ("commit", "diff", "impact", "model", "run", "verify")


class LazyLineageGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(NAMES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in NAMES:
            return None
        from pachflow_lineage.commands import lineage_group

        return lineage_group().get_command(ctx, cmd_name)


lineage = LazyLineageGroup(
    "lineage",
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Lineage both ways between commits (local store or Pachyderm) and MLflow runs and "
    "model versions. run RUN_ID: upstream of a run, down to raw_data; commit REPO@ID: "
    "downstream of a commit (jobs, commits, runs, model versions); model NAME/VERSION: "
    "upstream of a registered model version; verify RUN_ID: re-check a run's recorded "
    "commits and file hashes (exit 1 on a mismatch); diff A B: what changed between two model "
    "versions; impact REPO@ID:/PATH: every run and model version that saw a file. Output: "
    "table, --json, --mermaid, --dot, --png, --html.",
)
