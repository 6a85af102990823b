"""The `pachflow` subcommands, one module each. Add a command by appending it here."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
