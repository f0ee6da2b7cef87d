"""t-SNE jobs: one per model however many pages ask, progress with time left, kept in memory and on disk."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from ui import tsne_jobs


@pytest.fixture
def slow_tsne(monkeypatch):
    """A t-SNE that reports progress and waits for `release` before finishing; counts its calls."""
    release, calls = threading.Event(), []

    def fake(mu, seed=0, perplexity=30.0, progress=None):
        calls.append(len(mu))
        progress(0.5)
        assert release.wait(10)
        progress(1.0)
        return np.full((len(mu), 2), 7.0, np.float32)

    monkeypatch.setattr(tsne_jobs, "tsne", fake)
    yield release, calls
    release.set()
    tsne_jobs.forget()


def test_pages_asking_at_once_share_one_job_and_then_the_result(slow_tsne, tmp_path):
    release, calls = slow_tsne
    ckpt = tmp_path / "m.pt"
    ckpt.write_bytes(b"x")
    mu, index = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40)
    first = tsne_jobs.coords("key-a", mu, index, ckpt)
    second = tsne_jobs.coords("key-a", mu, index, ckpt)  # another student meanwhile
    assert isinstance(first, tsne_jobs.Job) and second is first
    deadline = time.monotonic() + 5
    while first.progress < 0.5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert first.progress == 0.5 and not first.done.is_set()
    release.set()
    assert first.done.wait(5) and first.error is None
    np.testing.assert_array_equal(tsne_jobs.coords("key-a", mu, index, ckpt), np.full((40, 2), 7.0))
    assert calls == [40]
    assert list((tmp_path / "cache").glob("m-*-tsne.npz"))  # kept beside the checkpoint
    tsne_jobs.forget()
    np.testing.assert_array_equal(tsne_jobs.coords("key-a", mu, index, ckpt), np.full((40, 2), 7.0))
    assert calls == [40]  # read back from disk after a "restart"


def test_the_live_run_is_kept_in_memory_only(slow_tsne, tmp_path):
    release, calls = slow_tsne
    release.set()
    job = tsne_jobs.coords("live-1", np.zeros((40, 2)) + np.arange(40)[:, None], np.arange(40), None)
    assert job.done.wait(5)
    assert not list(tmp_path.rglob("*.npz"))
    assert tsne_jobs.coords("live-1", np.zeros((40, 2)), np.arange(40), None) is job.coords


def test_time_left_is_estimated_from_the_time_so_far():
    job = tsne_jobs.Job(n=2000, started=time.monotonic() - 2.0)
    assert job.seconds_left() is None  # nothing known yet
    job.progress = 0.05
    assert job.seconds_left() is None  # too early to say
    job.progress = 0.25
    assert job.seconds_left() == pytest.approx(6.0, abs=0.2)  # 2 s for a quarter: 6 s for the rest


def test_a_checkpoint_deleted_meanwhile_is_computed_in_memory(slow_tsne, tmp_path):
    release, calls = slow_tsne
    release.set()
    job = tsne_jobs.coords("gone", np.zeros((40, 2)) + np.arange(40)[:, None], np.arange(40), tmp_path / "gone.pt")
    assert job.done.wait(5) and job.error is None and not os.path.exists(tmp_path / "cache")
