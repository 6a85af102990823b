"""MLflow as the cluster runs it (infra/helm/mlflow-values.yaml), on loopback: a PostgreSQL
backend store, MLflow's basic-auth app (its user store in the same PostgreSQL), and
proxied artifacts in a real S3 server (s3rver), so clients need the tracking URI and a
user, never S3 keys.

Users: the auth app's admin (used only to manage users) and `pachflow`, a plain user like
the one the mlflow-credentials secret holds; it owns what it creates (MANAGE), everyone
else gets the default READ. Without s3rver (not installed) artifacts are proxied from a
local directory instead, unless `require_s3`.
"""

from __future__ import annotations

import base64
import json
import secrets
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

from pachflow_testing.mlflow_server import Credentials, MlflowServer, run_mlflow_server
from pachflow_testing.postgres import run_postgres
from pachflow_testing.s3 import S3Missing, run_s3rver

#: How the test users' passwords are stored: werkzeug's pbkdf2 with few rounds instead of its
#: default scrypt. MLflow checks the password on every request (auth cache off, as in
#: production); scrypt costs ~0.12 CPU-s a check, ~6 CPU-s per train run (~50 requests),
#: minutes over the test suite on 2 cores. Every request is still checked, by the same code
#: (werkzeug reads the method from the stored hash): only the hash's cost differs.
TEST_PASSWORD_HASH = "pbkdf2:sha256:1000"
TRACKING_DB = "mlflow"
AUTH_DB = "mlflow_auth"
ADMIN = "admin"
PIPELINE_USER = "pachflow"


def _auth_ini(path: Path, database_uri: str, cache_ttl_s: int) -> Path:
    path.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = {database_uri}\n"
        f"admin_username = {ADMIN}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        f"auth_cache_ttl_seconds = {cache_ttl_s}\n"
    )
    return path


def new_password() -> str:
    """Random, and long enough for MLflow's 12-character minimum."""
    return secrets.token_urlsafe(18)


def _post(server: MlflowServer, endpoint: str, body: dict[str, str]) -> dict[str, object]:
    """An admin REST call to the auth app."""
    assert server.admin is not None, "the server runs without basic auth"
    token = base64.b64encode(f"{server.admin.username}:{server.admin.password}".encode())
    request = urllib.request.Request(
        f"{server.uri}{endpoint}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Basic {token.decode()}"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        answer: dict[str, object] = json.loads(resp.read() or b"{}")
        return answer


def create_user(server: MlflowServer, username: str) -> Credentials:
    """A new non-admin user with a random password (stored with TEST_PASSWORD_HASH)."""
    user = Credentials(username, new_password())
    _post(server, "/api/2.0/mlflow/users/create", {"username": username, "password": user.password})
    if server.postgres is not None:
        import psycopg
        from werkzeug.security import generate_password_hash

        cheap = generate_password_hash(user.password, method=TEST_PASSWORD_HASH)
        with psycopg.connect(server.postgres.uri(AUTH_DB)) as conn:
            conn.execute(
                "UPDATE users SET password_hash = %s WHERE username = %s", (cheap, username)
            )
    return user


def grant(
    server: MlflowServer, username: str, resource_type: str, resource_id: str, permission: str
) -> None:
    """MLflow 3.17's permission API (`experiment`/`registered_model`, READ/EDIT/MANAGE...)."""
    _post(
        server,
        "/api/3.0/mlflow/users/permissions/grant",
        {
            "username": username,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "permission": permission,
        },
    )


@contextmanager
def run_production_mlflow(
    root: Path, workers: int = 2, *, require_s3: bool = False, auth_cache_ttl_s: int = 0
) -> Iterator[MlflowServer]:
    """PostgreSQL + s3rver + `mlflow server --app-name basic-auth`; yields the server with
    `.credentials` (the pipeline user), `.admin`, `.postgres` and `.s3` (None without s3rver).
    Everything is stopped on exit.

    `auth_cache_ttl_s`: how long a worker trusts a password it verified. MLflow's default,
    0, checks the password hash on every request (a train run makes ~50; the test users'
    hashes are cheap, TEST_PASSWORD_HASH). Kept at 0 like production: with a cache, MLflow
    3.17.2 answers a bearer token with 500 instead of 401 (`_auth_cache_key` encodes the
    absent password)."""
    root.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        pg = stack.enter_context(run_postgres(databases=(TRACKING_DB, AUTH_DB)))
        try:
            s3 = stack.enter_context(run_s3rver(root / "s3"))
            destination = f"s3://{s3.bucket}/artifacts"
            s3_env = s3.server_env()
        except S3Missing:
            if require_s3:
                raise
            s3, destination, s3_env = None, str(root / "artifacts"), {}
        admin = Credentials(ADMIN, new_password())
        server_env = {
            **s3_env,
            "MLFLOW_AUTH_CONFIG_PATH": str(
                _auth_ini(root / "auth.ini", pg.uri(AUTH_DB), auth_cache_ttl_s)
            ),
            "MLFLOW_AUTH_ADMIN_PASSWORD": admin.password,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
        }
        server = stack.enter_context(
            run_mlflow_server(
                root,
                workers,
                backend_uri=pg.uri(TRACKING_DB),
                artifacts_destination=destination,
                app_name="basic-auth",
                server_env=server_env,
            )
        )
        server = replace(server, admin=admin, postgres=pg, s3=s3)
        yield replace(server, credentials=create_user(server, PIPELINE_USER))
