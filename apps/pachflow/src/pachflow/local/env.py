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
    """PACH_DATUM_ID, `<input>` (this datum's path under /pfs/<input>) and `<input>_COMMIT`."""
    env = {"PACH_DATUM_ID": datum.id}
    for i in datum.inputs:
        path = f"/pfs/{i.name}" + ("" if i.match == "/" else i.match)
        env[i.name] = visible(path)
        env[f"{i.name}_COMMIT"] = i.commit.id
    return env
