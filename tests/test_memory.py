import sys

import pytest

from vae import memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_trim_runs_at_most_every_ten_seconds(monkeypatch):
    monkeypatch.setattr(memory, "_last_trim", 0.0)
    assert memory.trim() is True
    assert memory.trim() is False  # rate-limited: epochs of the tiny preset last a fraction of a second
    monkeypatch.setattr(memory, "_last_trim", memory._last_trim - memory._TRIM_EVERY)
    assert memory.trim() is True
    memory.cap_malloc_arenas(2)  # callable any time; affects threads started later
