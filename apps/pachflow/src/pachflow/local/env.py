"""The environment of a datum's process: what a Pachyderm worker sets, adapted to one
machine.

A worker sees only its image's env, the spec's transform.env and secrets, and pachd's
variables: nothing of the shell that ran `pachctl`. So here, of the host env, only the
documented pass-throughs reach a stage (PASS_THROUGH below, docs/local-runner.md):
what a process needs to run on this machine (PATH, HOME, locale, JAVA_HOME, CA bundles),
proxies, MLflow tracking settings (where runs are recorded and how to reach it) and the
Spark endpoint settings. A stage option set in the shell (PACHFLOW_TRAIN_MAX_DEPTH=3)
does not reach the stage, exactly as on a cluster: `pachflow run` warns naming it (put it
in the spec's transform.env to change the stage).

Order (later wins): the passed host variables, the venv's bin dir first on PATH,
transform.env, then Pachyderm's worker variables. Two local rules:
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
from pachflow_store import HOME_ENV, store_tracking_uri

TRACKING_ENV = "MLFLOW_TRACKING_URI"

#: Host variables passed to every stage, by name or prefix (docs/local-runner.md lists them).
PASS_THROUGH: dict[str, tuple[str, ...]] = {
    "to run a process here": (
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "LANGUAGE",
        "LC_*",
        "TZ",
        "TMPDIR",
        "TERM",
        "JAVA_HOME",
        "LD_LIBRARY_PATH",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ),
    "proxies": tuple(
        name
        for base in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY")
        for name in (base, base.lower())
    ),
    "MLflow tracking": (
        "MLFLOW_*",
        "AWS_*",
        "PACHFLOW_MLFLOW_*",
        "PACHFLOW_EXPERIMENT",
        "PACHFLOW_REGISTERED_MODEL",
    ),
    "Spark endpoint": ("SPARK_REMOTE", "PACHFLOW_SPARK_*"),
}
_EXACT = frozenset(n for names in PASS_THROUGH.values() for n in names if not n.endswith("*"))
_PREFIXES = tuple(n[:-1] for names in PASS_THROUGH.values() for n in names if n.endswith("*"))


def passed_through(name: str) -> bool:
    """Whether a host variable reaches a stage (PASS_THROUGH)."""
    return name in _EXACT or name.startswith(_PREFIXES)


def stage_prefix(pipeline: str) -> str:
    """`PACHFLOW_<STAGE>_`: how a stage's options are named in the env (click envvar)."""
    return f"PACHFLOW_{pipeline.upper().replace('-', '_')}_"


def unpassed_stage_settings(
    specs: list[LocalSpec], host_env: Mapping[str, str] | None = None
) -> list[str]:
    """One warning per `PACHFLOW_<STAGE>_*` variable of the host that its stage will not
    see (a worker would not either), naming where to set it instead."""
    env = os.environ if host_env is None else host_env
    warnings = []
    for spec in specs:
        prefix = stage_prefix(spec.name)
        for name in sorted(k for k in env if k.startswith(prefix) and not passed_through(k)):
            warnings.append(
                f"warning: {name} is set in this shell but not passed to {spec.name}: a "
                "Pachyderm worker sees only its spec's env and secrets and pachd's variables; "
                f"to change {spec.name}, set it in transform.env of {spec.path}"
            )
    return warnings


def local_tracking_uri(home: Path, host_env: Mapping[str, str] | None = None) -> str:
    env = os.environ if host_env is None else host_env
    return env.get(TRACKING_ENV) or store_tracking_uri(home)


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
    env = {k: v for k, v in host.items() if passed_through(k)}
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
