"""Memory: a model too large for the machine is refused before it is built, with what to change; the
estimate behind that refusal bounds a real run's memory; a long-running server trims what it frees."""

import json
import re
import subprocess
import sys

import pytest
import torch

from bench.harness import ROOT
from vae import memory
from vae.config import MAX_HIDDEN, Config
from vae.lab import Lab
from vae.run import RunState

LARGEST = (MAX_HIDDEN,) * 8  # the most the config allows: 8 hidden layers of 4,096 units


def _resident_bytes() -> int:
    import resource

    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_model_too_large_for_this_machine_is_refused_before_it_is_built(mnist, tmp_path):
    config = Config(
        encoder_layers=LARGEST, decoder_layers=LARGEST, classifier_layers=LARGEST, batch_size=len(mnist.train_y)
    )
    need, free = memory.training_bytes(config, len(mnist.train_y)), memory.available_bytes(torch.device("cpu"))
    if need <= memory.FIT_FRACTION * free:
        pytest.skip(f"this machine has room for it ({memory.size_text(free)} free)")
    before = _resident_bytes()
    lab = Lab(tmp_path / "checkpoints", tmp_path / "data")
    lab._datasets["mnist"] = mnist
    with pytest.raises(
        ValueError, match=r"too large to train here: 362\.3 million weights .* fewer or narrower"
    ) as err:
        lab.start(config)
    assert _resident_bytes() - before < 200_000_000  # its 1.4 GB of weights were never allocated
    assert re.search(r"more than the [\d.]+ GB this machine can spare \(80% of its [\d.]+ GB free\)", str(err.value))


def test_the_seed_model_fits_and_its_estimate_is_small():
    need = memory.training_bytes(Config(), 60_000)
    assert memory.FIRST_STEP_BYTES < need < memory.FIRST_STEP_BYTES + 50_000_000
    memory.check_fits(Config(), 60_000, torch.device("cpu"))  # no error


def test_the_estimate_bounds_a_real_runs_memory():
    """The short version of bench/memory_estimate.py: one model of 10 million weights, in a process of its own."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.memory_estimate", "--one", "4096"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["weights"] == 9_851_694
    assert r["measured"] > 300_000_000  # it really trained: ten copies of 39 MB of weights and more
    assert r["estimate"] >= r["measured"]


def test_replacing_a_run_counts_the_memory_the_old_one_gives_back(tmp_path, monkeypatch):
    """A run that fits only once the live run's memory is given back is refused on an idle server
    but may replace that run (before, the old run's memory counted against its successor)."""
    from vae.config import preset
    from vae.lab import Lab

    lab = Lab(tmp_path / "checkpoints", tmp_path / "data")
    old = lab.start(preset("tiny").replace(epochs=1000, encoder_layers=(2048,)))
    n = len(old.dataset.train_y)
    new = preset("tiny").replace(epochs=1)
    need, freed = memory.training_bytes(new, n), memory.held_bytes(old.config, n)
    assert freed > 10_000_000  # the old run's 2,048-unit layer
    tight = int(need / memory.FIT_FRACTION) - freed // 2  # too little alone, enough with the old run's
    monkeypatch.setattr(memory, "available_bytes", lambda device: tight)

    with pytest.raises(ValueError, match="too large to train here"):
        Lab(tmp_path / "checkpoints", tmp_path / "data").start(new)  # nothing to give back
    assert lab.start(new).join(60) and lab.trainer.config == new and lab.trainer.state is RunState.FINISHED
    assert old.state is RunState.STOPPED


def test_size_text():
    assert [memory.size_text(n) for n in (999, 1536, 8_000_000, 2.4e9, 3e13)] == [
        "999 bytes",
        "1.5 KB",
        "8.0 MB",
        "2.4 GB",
        "30000.0 GB",
    ]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_trim_runs_at_most_every_ten_seconds(monkeypatch):
    monkeypatch.setattr(memory, "_last_trim", 0.0)
    assert memory.trim() is True
    assert memory.trim() is False  # rate-limited: epochs of the tiny preset last a fraction of a second
    monkeypatch.setattr(memory, "_last_trim", memory._last_trim - memory._TRIM_EVERY)
    assert memory.trim() is True
    memory.cap_malloc_arenas(2)  # callable any time; affects threads started later


def test_a_server_trims_its_memory_between_runs_too(monkeypatch):
    """With no run training nothing trimmed: a server keeps one thread that does, once per process."""
    import threading

    calls = threading.Event()
    monkeypatch.setattr(memory, "_trimmer", None)
    monkeypatch.setattr(memory, "trim", lambda: calls.set() or True)
    memory.keep_trimming(every=0.01)
    first = memory._trimmer
    memory.keep_trimming(every=0.01)
    assert memory._trimmer is first and first.daemon and first.name == "vae-memory-trim"
    assert calls.wait(5)
