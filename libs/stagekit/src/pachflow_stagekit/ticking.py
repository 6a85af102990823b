"""A check that runs every few seconds beside a block of work (Spark's progress lines, the
local engine's watch for a dead JVM), in a daemon thread that ends with the block."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def ticking(
    every_s: float, tick: Callable[[], bool | None], name: str, wait_s: float | None = None
) -> Iterator[None]:
    """While the block runs, call `tick` every `every_s` seconds (the first after
    `every_s`) in a daemon thread called `name`, until it returns False. At the block's end
    the ticks stop; a tick under way is waited for (at most `wait_s` seconds, when given)."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every_s):
            if tick() is False:
                return

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=wait_s)
