"""The Lab: one live run per server, shared by every page."""

from __future__ import annotations

import threading

from tests.helpers import wait_until
from vae.config import preset
from vae.lab import Lab
from vae.run import RunState


def test_pages_read_the_data_while_a_start_waits_for_the_old_run_to_stop(tmp_path):
    """Replacing a run waits for the old one's step in progress (seconds, for a large model): every
    page reads the data through the Lab meanwhile and must not wait with it."""
    lab = Lab(tmp_path / "checkpoints", tmp_path / "data")
    in_step, release = threading.Event(), threading.Event()

    def slow_step(_trainer) -> None:
        in_step.set()
        release.wait(30)

    old = lab.start(preset("tiny").replace(epochs=1000))
    old.add_callback("on_step_end", slow_step)
    assert in_step.wait(30)
    starting = threading.Thread(target=lab.start, args=(preset("tiny").replace(epochs=1),))
    starting.start()
    assert wait_until(old._stop.is_set)  # the start has asked the old run to stop and waits for it
    reader = threading.Thread(target=lab.dataset, args=("mnist",))
    reader.start()
    reader.join(10)
    read_while_starting = not reader.is_alive() and starting.is_alive()
    release.set()
    starting.join(30)
    assert read_while_starting
    assert old.state is RunState.STOPPED and lab.trainer is not old and lab.trainer.join(30)
