"""The Pachyderm client for lineage questions (the provenance backend and the link stage).

Known duplication: `pachflow deploy` resolves pachd with its own pachflow.cluster.connect
(stricter address parsing, names where the address came from, no in-cluster case). The two
should become one, here (pipelines may depend on provenance, not the other way round).

Where pachd is, in this order:
1. an explicit address (`--pachd-address`), else PACHD_ADDRESS (pachctl's variable; the SDK
   itself ignores it): `grpc://host:30650`, `grpcs://...`, `http://host:80` or `host:port`;
2. inside a Pachyderm worker: PACHD_PEER_SERVICE_HOST/PORT (`Client.new_in_cluster`);
3. pachctl's config: $PACH_CONFIG or ~/.pachyderm/config.json, active context.
The auth token comes from PACH_TOKEN (what workers get when auth is on) when set; else the
config context's session token.
"""

from __future__ import annotations

import os
from pathlib import Path

import grpc
from pachyderm_sdk import Client

from pachflow_provenance.errors import Unreachable

CONNECT_TIMEOUT_S = 10.0


def pachd_address_from_env() -> str | None:
    return os.environ.get("PACHD_ADDRESS") or None


def pachctl_config_path() -> Path:
    return Path(os.environ.get("PACH_CONFIG") or "~/.pachyderm/config.json").expanduser()


def pachyderm_configured() -> bool:
    """True when some way to reach pachd is configured (it may still be down)."""
    return bool(
        pachd_address_from_env()
        or os.environ.get("PACHD_PEER_SERVICE_HOST")
        or pachctl_config_path().is_file()
    )


def pachyderm_client(address: str | None = None, token: str | None = None) -> Client:
    """A client for the configured pachd (see module doc); Unreachable when none is."""
    token = token or os.environ.get("PACH_TOKEN") or None
    address = address or pachd_address_from_env()
    if address:
        try:
            return Client.from_pachd_address(address, auth_token=token)
        except ValueError as exc:
            raise Unreachable(
                f"bad pachd address {address!r} ({exc}): expected grpc://HOST:PORT"
            ) from exc
    if os.environ.get("PACHD_PEER_SERVICE_HOST"):
        return Client.new_in_cluster(auth_token=token)
    config = pachctl_config_path()
    if config.is_file():
        try:
            client = Client.from_config(config)
        except (ValueError, KeyError, TypeError) as exc:
            raise Unreachable(f"cannot use pachctl config {config}: {exc}") from exc
        if token:
            client.auth_token = token
        return client
    raise Unreachable(
        "no Pachyderm configured: set PACHD_ADDRESS (e.g. grpc://localhost:30650), "
        f"run `pachctl connect`, or create {config}"
    )


def wait_reachable(client: Client, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast with Unreachable instead of letting the first call hang on a dead pachd.

    The SDK's stubs take no deadline, so readiness is checked on its channel directly.
    """
    try:
        grpc.channel_ready_future(client._channel).result(timeout=timeout)
    except grpc.FutureTimeoutError as exc:
        raise Unreachable(
            f"pachd at {client.address} is unreachable (no connection within {timeout:.0f}s)"
        ) from exc
    try:  # connected is not usable: a bad token or TLS mismatch shows up on the first call
        client.get_version()
    except grpc.RpcError as exc:
        details = exc.details() if callable(getattr(exc, "details", None)) else str(exc)
        raise Unreachable(f"pachd at {client.address} answered with an error: {details}") from exc
