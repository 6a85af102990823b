"""`pachflow put/ls/get/list/inspect`: the local store (under $PACHFLOW_HOME), with
pachctl-like arguments: `REPO[@COMMIT|@BRANCH|@PREFIX][:PATH]`, a spec repo as
`<pipeline>.spec` (parsed by pachflow_store.refs, as in every command)."""

from __future__ import annotations

import errno
import json
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from pachflow_stagekit import BadInput
from pachflow_stagekit.options import json_option
from pachflow_store import (
    DEFAULT_BRANCH,
    BadName,
    CommitInfo,
    JobInfo,
    NotFound,
    Store,
    StoreBusy,
    StoreError,
    is_id_prefix,
    parse_commit_name,
    parse_job_name,
    resolve_home,
)

#: Exit codes of the store's commands (docs/local-runner.md has every command's table):
#: 2 bad input (pachflow_stagekit.BadInput); when another command holds the lock this one
#: needs (a second `pachflow run`), EX_TEMPFAIL of sysexits.h, "try again later", so a
#: script can tell it from a failed job (1).
EXIT_BUSY = 75


class Busy(click.ClickException):
    """The store is locked by another command (the message names it): exit 75."""

    exit_code = EXIT_BUSY


#: What the machine can do to a store: a full disk or quota, no inodes left, a read-only
#: or unwritable filesystem. The command exits 2 naming the path, not with a traceback.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


@contextmanager
def open_store() -> Iterator[Store]:
    """The store, with its errors turned into clear one-line CLI errors: something that
    does not exist -> exit 2 naming it; the store busy -> exit 75 naming who holds it; the
    disk full or read-only -> exit 2 naming the path (a temp blob is already removed)."""
    home = resolve_home()
    try:
        with Store() as store:
            yield store
    except NotFound as exc:
        raise BadInput(str(exc)) from None
    except StoreBusy as exc:
        raise Busy(str(exc)) from None
    except StoreError as exc:
        raise BadInput(str(exc)) from None
    except OSError as exc:
        if exc.errno not in DISK_ERRNOS:
            raise
        where = exc.filename or home
        raise BadInput(f"{where}: {exc.strerror} (the store is {home})") from None
    except sqlite3.OperationalError as exc:  # SQLite says "database or disk is full", ...
        if not any(w in str(exc) for w in ("full", "readonly", "read-only", "disk I/O")):
            raise
        raise BadInput(f"{home / 'store.db'}: {exc}") from None


def when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


@click.command()
@click.argument("repo")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--branch", default=DEFAULT_BRANCH, show_default=True)
@click.option(
    "--path",
    "dest",
    default="/",
    show_default=True,
    help="Directory in the repo to put the files under.",
)
@click.option("--message", "-m", default="", help="Commit description.")
@click.option(
    "--allow-duplicate",
    is_flag=True,
    help="Accept content the branch already holds under another path (its rows would "
    "count twice downstream).",
)
def put(
    repo: str,
    files: tuple[Path, ...],
    branch: str,
    dest: str,
    message: str,
    allow_duplicate: bool,
) -> None:
    """Put FILES (files or directories, recursively) into REPO as one new commit on
    BRANCH; creates the repo if needed. Prints the commit (REPO@ID).

    Content that REPO@BRANCH already holds under another path (same sha256), or that is
    given twice, is refused (exit 2 naming that path) unless --allow-duplicate: the same
    rows under two names would count twice in every model trained on them."""
    from pachflow.commands.put_sources import put_pairs

    pairs = put_pairs(files, dest)
    with open_store() as store:
        store.recover()
        ref = store.put_files(
            repo, pairs, branch=branch, description=message, allow_duplicate=allow_duplicate
        )
    click.echo(str(ref))


@click.group(name="delete")
def delete_group() -> None:
    """Delete from the local store (as `pachctl delete`)."""


@delete_group.command(name="file")
@click.argument("uris", nargs=-1, required=True, metavar="REPO[@BRANCH]:/PATH...")
@click.option("--message", "-m", default="", help="Commit description.")
def delete_file(uris: tuple[str, ...], message: str) -> None:
    """Delete files (or directories) from a user repo as one new commit on its branch; the
    next `pachflow run` removes exactly what the deleted files' datums produced. Prints
    the commit (REPO@ID)."""
    targets: dict[tuple[str, str], list[str]] = {}
    for uri in uris:
        try:
            name = parse_commit_name(uri, need_path=True)
        except BadName:
            raise click.UsageError(f"{uri!r}: expected REPO[@BRANCH]:/PATH naming a file") from None
        targets.setdefault((name.repo, name.ref or DEFAULT_BRANCH), []).append(name.path or "")
    if len(targets) > 1:
        raise click.UsageError("all paths must be in one repo and branch (one commit)")
    ((repo, branch), paths) = targets.popitem()
    with open_store() as store:
        ref = store.delete_files(repo, paths, branch=branch, description=message)
    click.echo(str(ref))


@click.command(name="ls")
@click.argument("uri")
@json_option()
def ls(uri: str, as_json: bool) -> None:
    """List files: URI is REPO[@COMMIT|@BRANCH|@PREFIX][:PATH] (default master, /)."""
    with open_store() as store:
        ref, path = store.resolve_uri(uri)
        entries = store.list_files(ref, path)
    if as_json:
        emit_json([{**e.to_dict(), "commit": str(ref)} for e in entries])
        return
    table([[e.path, e.type, human(e.size)] for e in entries], ["NAME", "TYPE", "SIZE"])


@click.command(name="get")
@click.argument("uri")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write here, not stdout.")
def get(uri: str, output: Path | None) -> None:
    """Print (or save with -o) one file: URI is REPO[@COMMIT|@BRANCH|@PREFIX]:PATH."""
    with open_store() as store:
        ref, path = store.resolve_uri(uri)
        blob = store.file_blob(ref, path)
        if output is not None:
            shutil.copyfile(blob, output)
            return
        with blob.open("rb") as fh:
            shutil.copyfileobj(fh, sys.stdout.buffer)


def commit_dict(info: CommitInfo) -> dict[str, Any]:
    data = info.to_dict()
    data["commit"] = str(info.commit)
    data["provenance"] = [str(p) for p in info.provenance]
    data["subvenance"] = [str(s) for s in info.subvenance]
    return data


def commit_rows(infos: list[CommitInfo]) -> list[list[str]]:
    return [
        [
            i.commit.repo_label,
            i.commit.id,
            i.origin,
            when(i.created),
            human(i.size),
            ", ".join(str(p) for p in i.provenance) or "-",
        ]
        for i in infos
    ]


COMMIT_HEADER = ["REPO", "ID", "ORIGIN", "CREATED", "SIZE", "PROVENANCE"]


@click.group(name="list")
def list_group() -> None:
    """List repos, commits or commit sets of the local store."""


@list_group.command(name="repo")
@json_option()
def list_repo(as_json: bool) -> None:
    """Every repo (user repos, pipeline output repos, spec repos)."""
    with open_store() as store:
        repos = store.list_repos()
    if as_json:
        emit_json([r.to_dict() for r in repos])
        return
    table(
        [
            [
                r.name if r.type == "user" else f"{r.name}.{r.type}",
                when(r.created),
                str(r.commits),
                human(r.size),
                r.head or "-",
            ]
            for r in repos
        ],
        ["NAME", "CREATED", "COMMITS", "SIZE", "HEAD"],
    )


@list_group.command(name="commit")
@click.argument("target", required=False)
@click.option("--repo", "repo", help="Only the commits of this repo.")
@json_option()
def list_commit(target: str | None, repo: str | None, as_json: bool) -> None:
    """Without TARGET: every commit set (global id). With a repo name as TARGET (or --repo):
    that repo's commits. Else TARGET is a commit set (a job) by its id or 4+ of its hex
    digits: its commits."""
    with open_store() as store:
        if target is None and repo is None:
            sets = store.list_commit_sets()
            if as_json:
                emit_json(
                    [
                        {"id": i, "created": c, "commits": [str(r) for r in refs]}
                        for i, c, refs in sets
                    ]
                )
                return
            table(
                [[i, when(c), ", ".join(r.repo_label for r in refs)] for i, c, refs in sets],
                ["ID", "CREATED", "COMMITS"],
            )
            return
        if repo is None and is_id_prefix(target or "") and not store.repo_exists(target or ""):
            infos = store.inspect_commit_set(store.resolve_commit_set(target or ""))
        else:
            infos = store.list_commits(repo or target)
    if as_json:
        emit_json([commit_dict(i) for i in infos])
        return
    table(commit_rows(infos), COMMIT_HEADER)


@click.group(name="inspect")
def inspect_group() -> None:
    """Show one object of the local store in detail."""


@inspect_group.command(name="commit")
@click.argument("uri")
@json_option()
def inspect_commit(uri: str, as_json: bool) -> None:
    """REPO@ID, REPO@BRANCH or REPO@PREFIX (4+ hex digits of an id): origin, parent, times,
    size, direct provenance and subvenance, metadata."""
    with open_store() as store:
        info = store.inspect_commit(store.resolve_name(parse_commit_name(uri)))
    if as_json:
        emit_json(commit_dict(info))
        return
    rows = [
        ("Commit", str(info.commit)),
        ("Branch", info.branch),
        ("Origin", info.origin),
        ("Parent", info.parent or "-"),
        ("Created", when(info.created)),
        ("Finished", when(info.finished)),
        ("Size", human(info.size)),
        ("Description", info.description or "-"),
        ("Provenance", ", ".join(str(p) for p in info.provenance) or "-"),
        ("Subvenance", ", ".join(str(s) for s in info.subvenance) or "-"),
    ]
    rows += [("Metadata", f"{k}={v}") for k, v in info.metadata.items()]
    for key, value in rows:
        click.echo(f"{key + ':':<14}{value}")


def job_dict(info: JobInfo) -> dict[str, Any]:
    return {**info.to_dict(), "inputs": [str(i) for i in info.inputs]}


@inspect_group.command(name="job")
@click.argument("job", metavar="PIPELINE@JOB | PIPELINE")
@json_option()
def inspect_job(job: str, as_json: bool) -> None:
    """One job (JOB: its id or 4+ of its hex digits; PIPELINE alone: its latest job):
    state, times, datums, spec commit, input commits, output commit."""
    with open_store() as store:
        if "@" in job:
            name = parse_job_name(job)
            info = store.inspect_job(name.pipeline, name.id)
        else:
            info = store.inspect_job(job)
    if as_json:
        emit_json(job_dict(info))
        return
    rows = [
        ("Job", f"{info.pipeline}@{info.id}"),
        ("State", info.state + (f" ({info.reason})" if info.reason else "")),
        ("Created", when(info.created)),
        ("Finished", when(info.finished)),
        (
            "Datums",
            f"{info.processed} processed, {info.skipped} skipped, {info.failed} failed"
            f" of {info.total}",
        ),
        ("Spec", f"{info.pipeline}.spec@{info.spec_commit}"),
        ("Inputs", ", ".join(str(i) for i in info.inputs) or "-"),
        ("Output", f"{info.pipeline}@{info.output_commit}" if info.output_commit else "-"),
    ]
    for key, value in rows:
        click.echo(f"{key + ':':<14}{value}")
