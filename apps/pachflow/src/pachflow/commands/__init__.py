"""The `pachflow` subcommands, one module each. Add a command by appending it here."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []

from pachflow.commands import specs  # noqa: E402

COMMANDS += [specs.validate, specs.pin]

from pachflow.commands import cluster  # noqa: E402

COMMANDS += [cluster.deploy, cluster.undeploy, cluster.cluster]

from pachflow.commands import local_run, local_store  # noqa: E402

COMMANDS += [
    local_store.put,
    local_store.delete_group,
    local_store.ls,
    local_store.get,
    local_store.list_group,
]
COMMANDS += [local_store.inspect_group, local_run.run, local_run.jobs, local_run.logs]

from pachflow.commands import gen_paysim  # noqa: E402

COMMANDS.append(gen_paysim.gen_paysim)

from pachflow.commands import lineage  # noqa: E402

COMMANDS.append(lineage.lineage)

from pachflow.commands import reproduce  # noqa: E402

COMMANDS.append(reproduce.reproduce)

from pachflow.commands import score  # noqa: E402

COMMANDS.append(score.score)

from pachflow.commands import local_demo  # noqa: E402

COMMANDS += [local_demo.demo]

from pachflow.commands import spark  # noqa: E402

COMMANDS.append(spark.spark)

from pachflow.commands import engine  # noqa: E402

COMMANDS.append(engine.engine)
