"""How a stage or the CLI reaches MLflow: the tracking URI it must be given, and the
credentials (the one place that knows them).

A stage needs a tracking URI (`required_tracking_uri`): MLflow's own default would write
into the working directory. Credentials come from the environment
(MLFLOW_TRACKING_USERNAME/PASSWORD: basic auth; MLFLOW_TRACKING_TOKEN: bearer), which
MLflow's client and pachflow_lineage.mlflow_read
turn into an Authorization header. A tracking URI with userinfo (`http://user:pass@host`)
is split here into those variables and a URI without them, so the password travels in the
header (MLflow's client does not send userinfo) and never in a URI that is printed,
logged, written to run.json or stored as commit metadata. `mask` hides every credential in
any text that is shown or stored.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit, urlunsplit

from pachflow_stagekit.errors import BadInput

USERNAME_ENV = "MLFLOW_TRACKING_USERNAME"
PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD"
TOKEN_ENV = "MLFLOW_TRACKING_TOKEN"
SECRET_ENVS = (PASSWORD_ENV, TOKEN_ENV)
#: What mlflow.set_tracking_uri()/set_registry_uri() also write into os.environ.
URI_ENVS = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
REDACTED = "***"
_USERINFO_PASSWORD = re.compile(r"(://[^/:@\s]+):[^/@\s]+@")


def mask(text: str) -> str:
    """`text` with every credential of the environment and any URI password masked."""
    for var in SECRET_ENVS:
        secret = os.environ.get(var)
        if secret:
            text = text.replace(secret, REDACTED)
    return _USERINFO_PASSWORD.sub(rf"\1:{REDACTED}@", text)


def credentials_set(env: MutableMapping[str, str] | None = None) -> bool:
    """True when a request to MLflow would carry a secret."""
    env = os.environ if env is None else env
    return bool(env.get(PASSWORD_ENV) or env.get(TOKEN_ENV))


def split_userinfo(uri: str, env: MutableMapping[str, str] | None = None) -> str:
    """`uri` without its userinfo; a user and password found there are put into `env`
    (default os.environ) as MLFLOW_TRACKING_USERNAME/PASSWORD, which become the
    Authorization header of every request. Other URIs are returned unchanged."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return uri
    env = os.environ if env is None else env
    if parts.username is not None:
        env[USERNAME_ENV] = unquote(parts.username)
    if parts.password is not None:
        env[PASSWORD_ENV] = unquote(parts.password)
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=host))


def required_tracking_uri(uri: str | None, where: str = "") -> str:
    """The tracking URI a stage was given (--tracking-uri, $MLFLOW_TRACKING_URI, `where`
    else). None is exit 2: MLflow's own default (sqlite:///mlflow.db, artifacts in ./mlruns)
    would write into whatever directory the stage was started from and record the run where
    nobody looks for it. `pachflow run` always sets one (its store's mlflow.db)."""
    if uri:
        return uri
    try:
        here = os.getcwd()
    except OSError:  # the working directory was removed under the process
        here = "the working directory"
    raise BadInput(
        f"no MLflow tracking URI{where} (expected --tracking-uri or MLFLOW_TRACKING_URI: a "
        "server's http(s):// URL or sqlite:////absolute/path/mlflow.db; MLflow's default "
        f"would write mlflow.db and mlruns/ into {here})"
    )


@contextmanager
def mlflow_uris_kept() -> Iterator[None]:
    """MLflow's process-wide tracking and registry URIs, after the block, are what they were
    before it. mlflow.set_tracking_uri()/set_registry_uri() also export
    MLFLOW_TRACKING_URI/MLFLOW_REGISTRY_URI into os.environ, so whatever a block sets would
    otherwise steer every later client of the process and every subprocess it starts (the
    stages of a later `pachflow run`) to that server."""
    before = {name: os.environ.get(name) for name in URI_ENVS}
    try:
        yield
    finally:
        if "mlflow" in sys.modules:  # only code that imported MLflow can have set them
            import mlflow

            mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # None clears it (3.17)
            mlflow.set_registry_uri(None)  # type: ignore[arg-type]
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
