"""Which pachd to talk to, and a client that is known to reach it.

Order: $PACHD_ADDRESS (pachctl's variable; pachyderm_sdk ignores it, so we parse it), else
the active context of the pachctl config ($PACH_CONFIG or ~/.pachyderm/config.json). The
auth token comes from $PACH_TOKEN when set, else from the context's session token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import grpc
from pachyderm_sdk import Client
from pachyderm_sdk.config import ConfigFile

ADDRESS_ENV = "PACHD_ADDRESS"
TOKEN_ENV = "PACH_TOKEN"
CONFIG_ENV = "PACH_CONFIG"
DEFAULT_CONFIG = Path("~/.pachyderm/config.json")
DEFAULT_PORT = 30650
_SCHEMES = {"grpc": False, "http": False, "grpcs": True, "https": True}


class ClusterError(Exception):
    """No usable cluster: the message is one line naming the address or file involved."""


@dataclass(frozen=True)
class PachdAddress:
    host: str
    port: int
    tls: bool

    def __str__(self) -> str:
        return f"{'grpcs' if self.tls else 'grpc'}://{self.host}:{self.port}"


def parse_pachd_address(text: str) -> PachdAddress:
    """`grpc://h:p`, `grpcs://h:p` (TLS), `http(s)://...`, `h:p` or `h` (port 30650)."""
    value = text.strip()
    if not value:
        raise ValueError("empty pachd address")
    if "://" not in value:
        value = f"grpc://{value}"
    parts = urlsplit(value)
    if parts.scheme not in _SCHEMES:
        raise ValueError(
            f"bad pachd address {text!r}: scheme {parts.scheme!r} is not one of "
            f"{', '.join(sorted(_SCHEMES))}"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"bad pachd address {text!r}: expected [grpc[s]://]host[:port]")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"bad pachd address {text!r}: the port is not a number 1-65535") from None
    if not parts.hostname:
        raise ValueError(f"bad pachd address {text!r}: no host")
    return PachdAddress(host=parts.hostname, port=port or DEFAULT_PORT, tls=_SCHEMES[parts.scheme])


@dataclass(frozen=True)
class Target:
    """A resolved cluster: where it is, where that came from, how to authenticate."""

    address: PachdAddress
    source: str  # "$PACHD_ADDRESS" or the config file path
    auth_token: str | None = None
    root_certs: bytes | None = None
    transaction_id: str | None = None


def config_path(env: Mapping[str, str]) -> Path:
    return Path(env.get(CONFIG_ENV) or DEFAULT_CONFIG).expanduser()


def resolve_target(env: Mapping[str, str] | None = None) -> Target:
    """The cluster named by the environment or the pachctl config; ClusterError if none."""
    env = os.environ if env is None else env
    token = env.get(TOKEN_ENV) or None
    if env.get(ADDRESS_ENV):
        try:
            address = parse_pachd_address(env[ADDRESS_ENV])
        except ValueError as err:
            raise ClusterError(f"${ADDRESS_ENV}: {err}") from None
        return Target(address=address, source=f"${ADDRESS_ENV}", auth_token=token)
    path = config_path(env)
    if not path.is_file():
        raise ClusterError(
            f"no Pachyderm cluster configured: set ${ADDRESS_ENV} (e.g. grpc://localhost:30650) "
            f"or run `pachctl connect` (no {path})"
        )
    try:
        context = ConfigFile.from_path(path).active_context
        address = parse_pachd_address(context.active_pachd_address)
    except (ValueError, KeyError, TypeError, OSError) as err:
        raise ClusterError(f"{path}: cannot read the active pachctl context: {err}") from None
    return Target(
        address=address,
        source=str(path),
        auth_token=token or context.session_token or None,
        root_certs=context.server_cas_decoded,
        transaction_id=context.active_transaction or None,
    )


def connect(target: Target, timeout: float = 10.0) -> Client:
    """A client for `target`, after checking pachd answers (ClusterError if it does not)."""
    address = target.address
    _probe(target, timeout)
    client = Client(
        host=address.host,
        port=address.port,
        auth_token=target.auth_token,
        root_certs=target.root_certs,
        transaction_id=target.transaction_id,
        tls=address.tls,
    )
    try:
        client.get_version()
    except grpc.RpcError as err:
        raise ClusterError(
            f"pachd at {address} (from {target.source}) answered with an error: {_rpc_text(err)}"
        ) from None
    return client


def _probe(target: Target, timeout: float) -> None:
    """Fail fast and clearly when nothing answers: the SDK itself would block or retry."""
    address = target.address
    where = f"{address.host}:{address.port}"
    if address.tls:
        channel = grpc.secure_channel(where, grpc.ssl_channel_credentials(target.root_certs))
    else:
        channel = grpc.insecure_channel(where)
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise ClusterError(
            f"cannot reach pachd at {address} (from {target.source}) within {timeout:g}s: "
            "is the cluster up and "
            f"the address right? (set ${ADDRESS_ENV} or `pachctl connect`)"
        ) from None
    finally:
        channel.close()


def _rpc_text(err: grpc.RpcError) -> str:
    code = err.code() if isinstance(err, grpc.Call) else None
    details = err.details() if isinstance(err, grpc.Call) else str(err)
    return f"{code.name if code else 'error'}: {details}"
