"""The one Pachyderm client factory (lineage and `pachflow deploy` both use it): where pachd
is, how the token is chosen, and one clear line when it cannot be used. Clients are real
pachyderm_sdk Clients; nothing here needs a cluster (a closed port stands in for a dead one)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from pachflow_lineage.client import (
    PachdAddress,
    client_for,
    connect,
    pachyderm_configured,
    parse_pachd_address,
    resolve_target,
)
from pachflow_lineage.errors import Unreachable


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("grpc://localhost:30650", PachdAddress("localhost", 30650, tls=False)),
        ("grpcs://pachd.example.com:443", PachdAddress("pachd.example.com", 443, tls=True)),
        ("https://pachd.example.com", PachdAddress("pachd.example.com", 30650, tls=True)),
        ("http://pachd:80", PachdAddress("pachd", 80, tls=False)),
        ("127.0.0.1:80", PachdAddress("127.0.0.1", 80, tls=False)),
        (
            "pachd.pachyderm.svc.cluster.local",
            PachdAddress("pachd.pachyderm.svc.cluster.local", 30650, tls=False),
        ),
        ("grpc://[::1]:30650", PachdAddress("::1", 30650, tls=False)),
    ],
)
def test_parse_pachd_address(text: str, expected: PachdAddress) -> None:
    assert parse_pachd_address(text) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("ftp://host:1", "scheme 'ftp'"),
        ("grpc://host:99999", "port"),
        ("grpc://host:30650/path", "expected [grpc[s]://]host[:port]"),
        ("", "empty"),
        ("grpc://:30650", "no host"),
    ],
)
def test_bad_pachd_addresses(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why.replace("[", r"\[").replace("]", r"\]")):
        parse_pachd_address(text)


def test_ipv6_address_is_bracketed_for_grpc() -> None:
    target = resolve_target("grpc://[::1]:30650", env={})
    assert str(target.address) == "grpc://[::1]:30650"
    assert client_for(target).address == "[::1]:30650"


def test_pachd_address_and_pach_token_make_the_client() -> None:
    target = resolve_target(env={"PACHD_ADDRESS": "grpcs://h:1", "PACH_TOKEN": "t0k"})
    assert target.address == PachdAddress("h", 1, tls=True)
    assert (target.source, target.auth_token) == ("$PACHD_ADDRESS", "t0k")
    client = client_for(target)
    assert (client.address, client.auth_token) == ("h:1", "t0k")
    assert client.root_certs  # TLS: the SDK's default roots


def test_explicit_address_wins_over_the_environment() -> None:
    target = resolve_target("grpc://given:2", env={"PACHD_ADDRESS": "grpc://env:1"})
    assert (target.address.host, target.source) == ("given", "--pachd-address")


def test_pachctl_config_active_context(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "user_id": "u",
                "v2": {
                    "active_context": "mk",
                    "contexts": {
                        "other": {"pachd_address": "grpc://wrong:1"},
                        "mk": {"pachd_address": "grpc://192.168.49.2:30650", "session_token": "s"},
                    },
                },
            }
        )
    )
    target = resolve_target(env={"PACH_CONFIG": str(config)})
    assert target.address == PachdAddress("192.168.49.2", 30650, tls=False)
    assert (target.source, target.auth_token) == (str(config), "s")
    assert client_for(target).address == "192.168.49.2:30650"
    # PACH_TOKEN wins over the context's session token
    assert resolve_target(env={"PACH_CONFIG": str(config), "PACH_TOKEN": "x"}).auth_token == "x"


def test_broken_pachctl_config_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"v2": {"active_context": "gone", "contexts": {}}}))
    with pytest.raises(Unreachable, match=rf"^{config}: cannot read the active pachctl context"):
        resolve_target(env={"PACH_CONFIG": str(config)})


def test_inside_a_pachyderm_worker(tmp_path: Path) -> None:
    env = {
        "PACHD_PEER_SERVICE_HOST": "10.96.0.7",
        "PACHD_PEER_SERVICE_PORT": "30653",
        "PACH_TOKEN": "w",
        "PACH_CONFIG": str(tmp_path / "none.json"),
    }
    assert pachyderm_configured(env)
    target = resolve_target(env=env)
    assert target.address == PachdAddress("10.96.0.7", 30653, tls=False)
    assert (target.source, target.auth_token) == ("$PACHD_PEER_SERVICE_HOST", "w")


def test_nothing_configured_and_bad_addresses_are_one_clear_line(tmp_path: Path) -> None:
    env = {"PACH_CONFIG": str(tmp_path / "none.json")}
    assert not pachyderm_configured(env)
    with pytest.raises(
        Unreachable, match=r"^no Pachyderm configured: set \$PACHD_ADDRESS .*pachctl connect"
    ):
        resolve_target(env=env)
    with pytest.raises(Unreachable, match=r"^\$PACHD_ADDRESS: bad pachd address 'ftp://x'"):
        resolve_target(env={"PACHD_ADDRESS": "ftp://x"})
    with pytest.raises(Unreachable, match=r"^--pachd-address: bad pachd address 'ftp://pachd:1'"):
        resolve_target("ftp://pachd:1", env={})


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connect_fails(port: int, timeout: float, reason: str) -> None:
    """connect() to 127.0.0.1:port raises one Unreachable line naming address, source, reason."""
    target = resolve_target(env={"PACHD_ADDRESS": f"127.0.0.1:{port}"})
    prefix = rf"^cannot reach pachd at grpc://127.0.0.1:{port} \(from \$PACHD_ADDRESS\): "
    with pytest.raises(Unreachable, match=prefix + reason):
        connect(target, timeout=timeout)


def test_refused_pachd_is_unreachable_at_once_naming_address_and_source() -> None:
    """Nothing listens there: the connection is refused, which is known at once (the SDK's
    own first call fails the same way), so the long timeout is not waited out."""
    _connect_fails(_closed_port(), 30, r"unreachable: .*Connection refused.*pachctl connect")


def test_silent_pachd_is_unreachable_after_the_timeout() -> None:
    """A host that takes the TCP connection but never speaks gRPC (a hung pachd, a proxy with
    nothing behind it) is given up on after the timeout, not waited on forever."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel completes the handshake; nothing ever answers
        _connect_fails(silent.getsockname()[1], 0.3, r"unreachable within 0.3s")
