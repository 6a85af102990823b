"""train's Spark session, started beside its MLflow connection: the JVM boots (seconds,
mostly in the JVM's own process) while MLflow's imports and connection take theirs
(seconds of Python), instead of one after the other. The Arrow engine's read runs beside
both (InBackground): pyarrow and numpy do their work without the GIL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from pachflow_spark import EndpointError, SparkSettings, open_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

T = TypeVar("T")


def _starts_a_jvm(settings: SparkSettings) -> bool:
    """In-process or cluster-driver sessions boot a JVM here. A Spark Connect session does
    not (its start is one handshake), and pyspark makes it the active session only in the
    thread that created it, which pyspark.ml's calls need: it opens when asked for."""
    try:
        return not settings.endpoint.is_connect
    except EndpointError:  # malformed: open_session says so, where it always did
        return False


class SessionStart:
    """open_session in a thread of its own, started now (a JVM to boot; a Connect session
    opens in `session()`, in the asking thread). `session()` waits for it and raises what
    the start raised (exit 2 for a bad endpoint, as open_session); `discard()` waits and
    stops it when the stage turns out not to need Spark (a retry that reuses a finished
    run) or fails first (its error matters, not the start's)."""

    def __init__(self, app_name: str, settings: SparkSettings) -> None:
        self._app_name, self._settings = app_name, settings
        self._session: SparkSession | None = None
        self._shared = False  # the process's Spark was there before: not this start's to stop
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if _starts_a_jvm(settings):
            self._thread = threading.Thread(
                target=self._start, name=f"{app_name} start", daemon=True
            )
            self._thread.start()

    def _start(self) -> None:
        from pyspark import SparkContext

        # getOrCreate hands back a session the process already runs (an embedding program's,
        # a test session's): discard() must leave it running for its owner.
        self._shared = SparkContext._active_spark_context is not None
        try:
            self._session = open_session(self._app_name, self._settings)
        except BaseException as exc:  # raised again in the thread that asks for the session
            self._error = exc

    def session(self) -> SparkSession:
        if self._thread is None:
            return open_session(self._app_name, self._settings)
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._session is not None
        return self._session

    def discard(self) -> None:
        if self._thread is None:
            return
        self._thread.join()
        if self._session is not None and not self._shared:
            self._session.stop()


class InBackground(Generic[T]):
    """`work()` in a daemon thread, started now; `result()` waits for it and returns what
    it returned or raises what it raised, in the asking thread. Daemon: a stage that exits
    first (a failed MLflow connection, a reused run) does not wait for it."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._work = work
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="train load", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._work()
        except BaseException as exc:  # raised again in the thread that asks for the result
            self._error = exc

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
