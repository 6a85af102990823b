"""ticking: a check beside a block of work runs while the block runs, never after it, and
stops early when it says so."""

from __future__ import annotations

import threading

from pachflow_stagekit.ticking import ticking


def test_ticks_run_while_the_block_runs_and_stop_with_it() -> None:
    ticks: list[str] = []
    twice = threading.Event()

    def tick() -> None:
        ticks.append(threading.current_thread().name)
        if len(ticks) >= 2:
            twice.set()

    with ticking(0.01, tick, "test-ticks"):
        assert twice.wait(60)
    after = len(ticks)
    assert not any(t.name == "test-ticks" for t in threading.enumerate())  # joined
    assert len(ticks) == after and set(ticks) == {"test-ticks"}


def test_a_tick_returning_false_is_the_last() -> None:
    ticks: list[int] = []
    done = threading.Event()

    def tick() -> bool:
        ticks.append(1)
        done.set()
        return False

    with ticking(0.01, tick, "test-last"):
        assert done.wait(60)
        threads = [t for t in threading.enumerate() if t.name == "test-last"]
        for thread in threads:
            thread.join(60)
        assert not any(t.is_alive() for t in threads)
    assert ticks == [1]
