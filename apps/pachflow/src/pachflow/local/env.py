"""The environment of a datum's process: what a Pachyderm worker sets, adapted to one
machine.

Order (later wins): the host env (so PATH, JAVA_HOME, PACHFLOW_* settings reach the
stages; PACH_*/PPS_* left over from an enclosing job are dropped), the venv's bin dir first
on PATH, transform.env, then Pachyderm's worker variables. Two local rules:
- transform.secrets: there is no Kubernetes secret here; a secret's env_var is taken from
  the host env when set there, and left unset otherwise (mount_path secrets are ignored).
- MLFLOW_TRACKING_URI: the host's value when set, else a SQLite store under
  $PACHFLOW_HOME (`sqlite:///$PACHFLOW_HOME/mlflow.db`), replacing the spec's cluster URL.
  Datum processes run with $PACHFLOW_HOME as working directory, so MLflow's default
  artifact root (./mlruns) is $PACHFLOW_HOME/mlruns.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Mapping
from pathlib import Path

from pachflow.local.datums import Datum
from pachflow.local.runtime import venv_bin
from pachflow.local.specs import LocalSpec
from pachflow_store import HOME_ENV

TRACKING_ENV = "MLFLOW_TRACKING_URI"


def local_tracking_uri(home: Path, host_env: Mapping[str, str] | None = None) -> str:
    env = os.environ if host_env is None else host_env
    return env.get(TRACKING_ENV) or f"sqlite:///{home / 'mlflow.db'}"


def job_env(
    spec: LocalSpec,
    *,
    job_id: str,
    spec_commit: str,
    home: Path,
    host_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Everything but the per-datum variables."""
    host = dict(os.environ if host_env is None else host_env)
    env = {k: v for k, v in host.items() if not k.startswith(("PACH_", "PPS_"))}
    env["PATH"] = os.pathsep.join([venv_bin(), env.get("PATH", os.defpath)])
    env.update(spec.env)
    for var in spec.secret_env_vars:
        if var in host:
            env[var] = host[var]
        else:
            env.pop(var, None)
    env[TRACKING_ENV] = local_tracking_uri(home, host)
    env[HOME_ENV] = str(home)
    env.update(
        {
            "PACH_JOB_ID": job_id,
            "PACH_OUTPUT_COMMIT_ID": job_id,
            "PPS_PIPELINE_NAME": spec.name,
            "PPS_PROJECT_NAME": spec.project,
            "PPS_SPEC_COMMIT": spec_commit,
        }
    )
    return env


def datum_env(datum: Datum, visible: Callable[[str], str]) -> dict[str, str]:
    """What pachd's worker sets per datum (driver.go UserCodeEnv): for each input
    `<name>` (its path under /pfs/<name>, no trailing slash), `<name>_COMMIT`, and
    `PACH_DATUM_<name>_JOIN_ON` / `_GROUP_BY` when the key is not empty; then PACH_DATUM_ID.
    Inputs sharing a name (a group) repeat the variables: the last one wins, as in Go's exec.
    """
    env: dict[str, str] = {}
    for i in datum.inputs:
        env[i.name] = visible(posixpath.join("/pfs", i.name, i.match.lstrip("/")).rstrip("/"))
        env[f"{i.name}_COMMIT"] = i.commit.id
        if i.join_on:
            env[f"PACH_DATUM_{i.name}_JOIN_ON"] = i.join_on
        if i.group_by:
            env[f"PACH_DATUM_{i.name}_GROUP_BY"] = i.group_by
    env["PACH_DATUM_ID"] = datum.id
    return env
