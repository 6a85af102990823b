"""Which Spark a stage uses, from one setting (`--master` / PACHFLOW_SPARK_MASTER, else
Spark's own SPARK_REMOTE, else `local[*]`):

- `local`, `local[N]`, `local[*]`, `local[N,F]`: Spark inside the stage's own process
  (a JVM started by pyspark; the default when a stage runs alone);
- `spark://host:port[,host:port...]` (standalone) or `k8s://[https://]host[:port]`:
  a cluster master; this process is the driver, the executors run on the cluster;
- `sc://host[:port][/;params]`: a Spark Connect server (default port 15002), which is
  the driver; this process is a thin client (no JVM of its own).

Only `public_url` (no Connect parameters such as `token=`, no user:password) is ever
printed or logged on an MLflow run. A malformed value is a usage error; an endpoint that
does not accept a TCP connection within the timeout is one too (exit 2, naming it), not a
JVM stack trace minutes later.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Kind = Literal["local", "cluster", "connect"]

DEFAULT_MASTER = "local[*]"

LOCAL = re.compile(r"local(\[(\*|[1-9][0-9]*)(,[1-9][0-9]*)?\])?")
_HOST_PORT = r"(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+)(:(?P<port>[0-9]{1,5}))?"
HOST_PORT = re.compile(_HOST_PORT)
CONNECT = re.compile(rf"sc://{_HOST_PORT}(/.*)?")
K8S = re.compile(rf"k8s://((?P<scheme>https?)://)?([^/@]+@)?{_HOST_PORT}/?")
CONNECT_DEFAULT_PORT = 15002
STANDALONE_DEFAULT_PORT = 7077
#: Seconds to wait for an endpoint's port (PACHFLOW_SPARK_TIMEOUT / --spark-timeout).
DEFAULT_TIMEOUT_S = 30.0
FORMS = (
    "local[*], local[N], spark://HOST:PORT, k8s://https://HOST:PORT or sc://HOST:PORT "
    "(Spark Connect)"
)


class EndpointError(ValueError):
    """A Spark endpoint setting that is malformed or does not answer."""


@dataclass(frozen=True)
class SparkEndpoint:
    """A parsed endpoint: `url` as given, its kind, and the addresses it must answer on."""

    url: str
    kind: Kind
    addresses: tuple[tuple[str, int], ...] = ()

    @property
    def is_connect(self) -> bool:
        return self.kind == "connect"

    @property
    def on_this_machine(self) -> bool:
        """In-process, or every address it answers on is loopback: it sees this
        machine's files (a container's /pfs aside)."""
        loopback = ("127.0.0.1", "localhost", "::1")
        return self.kind == "local" or all(host in loopback for host, _ in self.addresses)

    @property
    def public_url(self) -> str:
        """The URL without credentials: Spark Connect's `/;token=...;user_id=...`
        parameters and any `user:password@` are dropped."""
        return public_url(self.url)

    def describe(self) -> str:
        """How a person reads it in a progress line."""
        return {
            "local": f"in-process Spark {self.url}",
            "cluster": f"Spark cluster {self.public_url} (this process is the driver)",
            "connect": f"Spark Connect server {self.public_url}",
        }[self.kind]


def public_url(url: str) -> str:
    """`url` without what may be a secret (see SparkEndpoint.public_url)."""
    if url.startswith("sc://"):
        url = url.split("/;", 1)[0]
    return re.sub(r"(?<=://)[^/@]*@", "", url)


def resolve_master(value: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The endpoint a stage uses: the option / PACHFLOW_SPARK_MASTER when given, else
    Spark's own SPARK_REMOTE (a Connect server set for every Spark client), else local[*]."""
    env = os.environ if environ is None else environ
    if value is not None:
        return value.strip()
    return (env.get("SPARK_REMOTE") or DEFAULT_MASTER).strip()


def _port(value: str | None, default: int, url: str) -> int:
    port = int(value) if value else default
    if not 0 < port < 65536:
        raise EndpointError(
            f"Spark endpoint {public_url(url)!r}: port {port} is out of range (1-65535)"
        )
    return port


def _host(value: str) -> str:
    return value[1:-1] if value.startswith("[") else value


def parse_endpoint(url: str) -> SparkEndpoint:
    """Parse the setting; raise EndpointError naming it and the accepted forms."""
    url = url.strip()
    if LOCAL.fullmatch(url):
        return SparkEndpoint(url, "local")
    if url.startswith("sc://"):
        match = CONNECT.fullmatch(url)
        if match:
            port = _port(match["port"], CONNECT_DEFAULT_PORT, url)
            return SparkEndpoint(url, "connect", ((_host(match["host"]), port),))
    elif url.startswith("spark://"):
        parts = url[len("spark://") :].split(",")
        matches = [HOST_PORT.fullmatch(p) for p in parts]
        if all(matches):
            addresses = tuple(
                (_host(m["host"]), _port(m["port"], STANDALONE_DEFAULT_PORT, url))
                for m in matches
                if m
            )
            return SparkEndpoint(url, "cluster", addresses)
    elif url.startswith("k8s://"):
        match = K8S.fullmatch(url)
        if match:
            default = 80 if match["scheme"] == "http" else 443
            port = _port(match["port"], default, url)
            return SparkEndpoint(url, "cluster", ((_host(match["host"]), port),))
    raise EndpointError(f"Spark endpoint {public_url(url)!r} is not valid: expected {FORMS}")


def _answers(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=max(0.1, min(timeout, 2.0))):
            return True
    except OSError:
        return False


def wait_until_answering(endpoint: SparkEndpoint, timeout: float = DEFAULT_TIMEOUT_S) -> None:
    """Return once one of the endpoint's addresses accepts a TCP connection (a standalone
    master with standbys: any of them); raise EndpointError after `timeout` seconds.

    Local endpoints need nothing. A Spark Connect server or master that is still starting
    is waited for, so a stage may start together with its server."""
    if not endpoint.addresses:
        return
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if any(_answers(host, port, left) for host, port in endpoint.addresses):
            return
        if time.monotonic() >= deadline:
            where = ", ".join(f"{h}:{p}" for h, p in endpoint.addresses)
            raise EndpointError(
                f"Spark endpoint {endpoint.public_url} does not answer (no TCP connection to "
                f"{where} "
                f"within {timeout:g} s): start it, or use --master local[*] for in-process Spark"
            )
        time.sleep(0.2)
