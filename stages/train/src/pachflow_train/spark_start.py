"""train's Spark session, started beside its MLflow connection: the JVM boots (seconds,
mostly in the JVM's own process) while MLflow's imports and connection take theirs
(seconds of Python), instead of one after the other."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from pachflow_spark import SparkSettings, open_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class SessionStart:
    """open_session in a thread of its own, started now. `session()` waits for it and
    raises what the start raised (exit 2 for a bad endpoint, as open_session); `discard()`
    waits and stops it when the stage turns out not to need Spark (a retry that reuses a
    finished run) or fails first (its error matters, not the start's)."""

    def __init__(self, app_name: str, settings: SparkSettings) -> None:
        self._session: SparkSession | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._start, args=(app_name, settings), name=f"{app_name} start", daemon=True
        )
        self._thread.start()

    def _start(self, app_name: str, settings: SparkSettings) -> None:
        try:
            self._session = open_session(app_name, settings)
        except BaseException as exc:  # raised again in the thread that asks for the session
            self._error = exc

    def session(self) -> SparkSession:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._session is not None
        return self._session

    def discard(self) -> None:
        self._thread.join()
        if self._session is not None:
            self._session.stop()
