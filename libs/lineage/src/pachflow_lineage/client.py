"""The project's one Pachyderm client factory: which pachd, and a client known to reach it.

Used by lineage (the provenance backend and the link stage) and by `pachflow deploy`,
`undeploy` and `cluster put` (pipelines depends on this package, not the other way round).

Where pachd is, in this order:
1. an explicit address (`--pachd-address`), else $PACHD_ADDRESS (pachctl's variable; the SDK
   itself ignores it): `grpc://host:30650`, `grpcs://` (TLS), `http(s)://`, `host:port` or
   `host` (port 30650);
2. inside a Pachyderm worker: $PACHD_PEER_SERVICE_HOST/PORT (or a spout's /pachctl config),
   as `Client.new_in_cluster` does;
3. pachctl's config: $PACH_CONFIG or ~/.pachyderm/config.json, its active context.
The auth token is $PACH_TOKEN (what workers get when auth is on) when set, else the config
context's session token. Every failure is Unreachable: one line naming the address and
where it came from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pachflow_lineage.errors import Unreachable

if TYPE_CHECKING:
    import grpc
    from pachyderm_sdk import Client

# pachyderm_sdk and grpc are imported where a client is made: resolving an address, or asking
# whether one is configured, should not cost their import time.

ADDRESS_ENV = "PACHD_ADDRESS"
TOKEN_ENV = "PACH_TOKEN"
CONFIG_ENV = "PACH_CONFIG"
PEER_HOST_ENV = "PACHD_PEER_SERVICE_HOST"
PEER_PORT_ENV = "PACHD_PEER_SERVICE_PORT"
DEFAULT_CONFIG = Path("~/.pachyderm/config.json")
SPOUT_CONFIG = Path("/pachctl/config.json")  # what Client.new_in_cluster prefers in a spout
DEFAULT_PORT = 30650
CONNECT_TIMEOUT_S = 10.0
_SCHEMES = {"grpc": False, "http": False, "grpcs": True, "https": True}


@dataclass(frozen=True)
class PachdAddress:
    host: str
    port: int
    tls: bool

    @property
    def grpc_host(self) -> str:
        """The host as gRPC targets want it: an IPv6 address in brackets."""
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def netloc(self) -> str:
        return f"{self.grpc_host}:{self.port}"

    def __str__(self) -> str:
        return f"{'grpcs' if self.tls else 'grpc'}://{self.netloc}"


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
    """A resolved pachd: where it is, where that came from, how to authenticate."""

    address: PachdAddress
    source: str  # "--pachd-address", "$PACHD_ADDRESS", "$PACHD_PEER_SERVICE_HOST" or a file
    auth_token: str | None = None
    root_certs: bytes | None = None
    transaction_id: str | None = None


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get(CONFIG_ENV) or DEFAULT_CONFIG).expanduser()


def pachyderm_configured(env: Mapping[str, str] | None = None) -> bool:
    """True when some way to reach pachd is configured (it may still be down)."""
    env = os.environ if env is None else env
    return bool(env.get(ADDRESS_ENV) or env.get(PEER_HOST_ENV) or config_path(env).is_file())


def resolve_target(address: str | None = None, env: Mapping[str, str] | None = None) -> Target:
    """The pachd named by `address`, the environment or the pachctl config (module doc);
    Unreachable when none is configured or what is configured cannot be parsed."""
    env = os.environ if env is None else env
    token = env.get(TOKEN_ENV) or None
    if address or env.get(ADDRESS_ENV):
        source = "--pachd-address" if address else f"${ADDRESS_ENV}"
        return Target(_parse(address or env[ADDRESS_ENV], source), source, auth_token=token)
    if env.get(PEER_HOST_ENV):
        if SPOUT_CONFIG.is_file():
            return _from_config(SPOUT_CONFIG, token)
        source = f"${PEER_HOST_ENV}"
        where = f"{env[PEER_HOST_ENV]}:{env.get(PEER_PORT_ENV) or DEFAULT_PORT}"
        return Target(_parse(where, source), source, auth_token=token)
    path = config_path(env)
    if not path.is_file():
        raise Unreachable(
            f"no Pachyderm configured: set ${ADDRESS_ENV} (e.g. grpc://localhost:30650) "
            f"or run `pachctl connect` (no {path})"
        )
    return _from_config(path, token)


def _parse(text: str, source: str) -> PachdAddress:
    try:
        return parse_pachd_address(text)
    except ValueError as err:
        raise Unreachable(f"{source}: {err}") from None


def _from_config(path: Path, token: str | None) -> Target:
    from pachyderm_sdk.config import ConfigFile
    from pachyderm_sdk.errors import ConfigError

    try:
        context = ConfigFile.from_path(path).active_context
        address = parse_pachd_address(context.active_pachd_address)
    except (ConfigError, ValueError, KeyError, TypeError, OSError) as err:
        raise Unreachable(f"{path}: cannot read the active pachctl context: {err}") from None
    return Target(
        address=address,
        source=str(path),
        auth_token=token or context.session_token or None,
        root_certs=context.server_cas_decoded,
        transaction_id=context.active_transaction or None,
    )


def client_for(target: Target) -> Client:
    """A client for `target`; nothing is contacted yet (see connect)."""
    from pachyderm_sdk import Client

    return Client(
        host=target.address.grpc_host,
        port=target.address.port,
        auth_token=target.auth_token,
        root_certs=target.root_certs,
        transaction_id=target.transaction_id,
        tls=target.address.tls,
    )


def pachyderm_client(address: str | None = None) -> Client:
    """A client for the configured pachd (module doc), not yet contacted."""
    return client_for(resolve_target(address))


def connect(target: Target, timeout: float = CONNECT_TIMEOUT_S) -> Client:
    """A client for `target` after checking that pachd answers; Unreachable if it does not.

    The SDK's stubs take no deadline (a pachd that never answers would hang the first call),
    so the client's own channel is watched first: a refused connection fails at once, as the
    SDK's own first call would; a host that stays silent fails after `timeout`. Then one call
    proves the channel is usable (a bad token or a TLS mismatch shows up there).
    """
    import grpc

    client = client_for(target)
    where = f"pachd at {target.address} (from {target.source})"
    hint = f"is the cluster up and the address right? (set ${ADDRESS_ENV} or run `pachctl connect`)"
    try:
        if not _channel_settled(client._channel, timeout):
            raise Unreachable(f"cannot reach {where}: unreachable within {timeout:g}s; {hint}")
        client.get_version()
    except ConnectionError as err:  # the SDK's word for gRPC's "failed to connect to all addresses"
        cause = err.__cause__
        reason = cause.details() if isinstance(cause, grpc.Call) else str(err).strip()
        failure = Unreachable(f"cannot reach {where}: unreachable: {reason}; {hint}")
    except grpc.RpcError as err:
        code = err.code() if isinstance(err, grpc.Call) else None
        details = err.details() if isinstance(err, grpc.Call) else str(err)
        failure = Unreachable(
            f"{where} answered with an error: {code.name if code else 'error'}: {details}"
        )
    except Unreachable as err:
        failure = err
    else:
        return client
    # Closed before the error ends the process: a channel freed at interpreter exit while
    # gRPC's connectivity poller still runs can deadlock the exit.
    client._channel.close()
    raise failure from None


def _channel_settled(channel: grpc.Channel, timeout: float) -> bool:
    """Whether `channel`'s first connection attempt ended (connected, or failed) in `timeout`."""
    import threading

    import grpc

    settled = threading.Event()
    ends = (grpc.ChannelConnectivity.READY, grpc.ChannelConnectivity.TRANSIENT_FAILURE)

    def watch(state: grpc.ChannelConnectivity) -> None:
        if state in ends:
            settled.set()

    channel.subscribe(watch, try_to_connect=True)
    try:
        return settled.wait(timeout)
    finally:
        channel.unsubscribe(watch)
