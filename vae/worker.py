"""A loop in a background thread that others may pause, resume and stop: the thread protocol alone.

A subclass writes `_loop`, calls `_checkpoint()` between units of work (it parks there while
paused and says whether to stop), and hears of every change of state through `_changed(weights)`.
The state changes under one lock, so a pause racing the loop's end cannot leave a dead loop paused.
The loop's thread runs at a lower CPU priority than the rest of the process (`BACKGROUND_NICENESS`):
on a machine with few cores the server's page runs come first and the training takes what is left.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from vae.run import RunState

# How much lower (in Unix nice steps) the loop's thread runs than the threads that serve pages. Each
# step is about 1.25x less CPU when the two compete (Linux's CFS weights): 10 gives the pages about
# 9 times the loop's share on a busy core, and costs the loop nothing on an idle one.
BACKGROUND_NICENESS = 10


def lower_this_threads_priority(by: int = BACKGROUND_NICENESS) -> bool:
    """Raise the calling thread's nice value by `by`; True if done. Linux only: there each thread has a
    nice value of its own (setpriority on its native id); elsewhere that call would slow the whole
    process, so nothing is done."""
    if sys.platform != "linux":
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + by))
    except OSError:  # a sandbox that forbids it: run at the usual priority
        return False
    return True


class Worker:
    def __init__(self, name: str) -> None:
        self.state = RunState.IDLE
        self._name = name
        self._lock = threading.Lock()  # guards `state` (and what subclasses publish with it)
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        self._parked = threading.Event()  # set while the loop waits out a pause
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run the loop in a daemon thread; returns at once."""
        if self._thread is not None:
            raise RuntimeError("this run was already started; create a new one to train again")
        self._set_state(RunState.RUNNING)
        self._thread = threading.Thread(target=self._run_in_background, name=self._name, daemon=True)
        self._thread.start()

    def pause(self, timeout: float = 5.0) -> None:
        """Pause after the unit of work in progress. Returns once the loop is parked (or `timeout` passed),
        so what is read after a pause does not change until `resume`."""
        if not self._set_state(RunState.PAUSED, only_from=RunState.RUNNING):
            return
        self._running.clear()
        deadline = time.monotonic() + timeout
        while self.alive and not self._parked.wait(0.01) and time.monotonic() < deadline:
            pass

    def resume(self) -> None:
        if self._set_state(RunState.RUNNING, only_from=RunState.PAUSED):
            self._running.set()

    def stop(self) -> None:
        """Ask the loop to stop at its next checkpoint (also when paused)."""
        self._stop.set()
        self._running.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True once it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:  # pragma: no cover - subclasses implement it
        raise NotImplementedError

    def _run_in_background(self) -> None:
        lower_this_threads_priority()
        self.run()

    # --- for the subclass's loop ---------------------------------------------------------------
    def _checkpoint(self) -> bool:
        """Between units of work: wait out a pause (after `_on_park`); True when the loop must stop."""
        if not self._running.is_set():
            self._on_park()
            self._parked.set()
            self._running.wait()
            self._parked.clear()
        return self._stop.is_set()

    def _on_park(self) -> None:
        """Called in the loop's thread just before it waits out a pause."""

    def _changed(self, weights: bool) -> None:
        """The state changed (`weights`: the caller is the loop's thread, whose results may be read)."""

    def _set_state(self, state: RunState, only_from: RunState | None = None, weights: bool = False) -> bool:
        """Change the state (if it is `only_from`, when given) and report it; False if it was not."""
        with self._lock:
            if only_from is not None and self.state is not only_from:
                return False
            self.state = state
        self._changed(weights)
        return True
