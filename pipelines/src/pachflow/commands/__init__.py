"""The `pachflow` subcommands, one module each. Add a command by appending it here."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []

from pachflow.commands import specs  # noqa: E402

COMMANDS += [specs.validate, specs.pin]

from pachflow.commands import cluster  # noqa: E402

COMMANDS += [cluster.deploy, cluster.undeploy, cluster.cluster]
