"""pachd's GlobFile over a commit's file list: which entries of a commit are a pfs input's datums.

As pachd does it (src/server/pfs/server/server_file.go globFile, source.go, fileset
dir_inserter.go): the commit's files whose path starts with the glob's literal prefix,
plus a directory entry (`/dir/`, trailing slash) for every ancestor of those files that
sorts at or after the prefix, plus the root `/` when there is any file and the prefix is
`/`; each entry is tested with the cleaned glob (pachflow.pipeline_spec.globs), in
lexicographic path order. A matching entry is one datum: the file, or the directory with
everything under it (the root: the whole commit). An empty commit has no entries, so it
makes no datum whatever the glob, `/` included.
"""

from __future__ import annotations

import bisect

from pachflow.pipeline_spec.globs import ROOT, GlobError, compile_pach_glob

__all__ = ["ROOT", "GlobError", "entries", "match"]


def entries(files: list[str], prefix: str = ROOT) -> list[str]:
    """Every entry pachd's source yields for `files` read with `prefix`, sorted."""
    found: set[str] = set()
    for path in files:
        if not path.startswith(prefix):
            continue
        found.add(path)
        parts = path.strip("/").split("/")
        for depth in range(len(parts)):
            directory = ("/" + "/".join(parts[:depth]) + "/") if depth else ROOT
            if directory >= prefix:
                found.add(directory)
    return sorted(found)


def match(pattern: str, files: list[str]) -> list[tuple[str, list[str]]]:
    """The datums of one pfs input: (matched entry, the files it holds), in pachd's order.

    Raises GlobError when ohmyglob cannot compile the glob (pachd fails the job then).
    """
    glob = compile_pach_glob(pattern)
    ordered = sorted(files)
    datums = []
    for entry in entries(ordered, glob.prefix):
        if not glob.matches(entry):
            continue
        if entry.endswith("/"):
            # a directory holds one slice of the sorted list: the paths starting with it
            lo = bisect.bisect_left(ordered, entry)
            hi = bisect.bisect_left(ordered, entry[:-1] + "0")  # "0" follows "/"
            held = [f for f in ordered[lo:hi] if f.startswith(entry)]
        else:
            held = [entry]
        datums.append((entry, held))
    return datums
