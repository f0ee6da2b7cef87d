"""At most RATE reruns a second from one browser, the last of a burst always run.

Streamlit starts every full rerun a browser asks for at once, and with `runner.fastReruns` (its default)
by stopping the script's thread and starting a new one. A browser asks a few times a second at most (a
slider's release, a click, the live panel's pacer), but one student's script asking 6,000 times a second
over its websocket left another student's page 40-45 s to draw (0.07 s alone), and the server stalled
for 20 s after the flood stopped. `install()` wraps `AppSession.request_rerun` with a token bucket per
session (BURST at once, then RATE a second): a request beyond it is not run now but kept, the newest in
place of any kept before it, and run as a full rerun when the bucket has a token again. The browser sends
every widget's state with each request, so the newest holds what the older ones did (a button's click in
an older one is lost, which no person clicks fast enough to meet). `tests/test_server_limits.py` floods it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

from streamlit.logger import get_logger
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.runtime.app_session import AppSession

LOG = get_logger(__name__)
RATE = 10.0  # reruns a second, once the burst is spent
BURST = 20
THROTTLED = "throttled the reruns of session"  # the log line, once per burst
_BUCKET = "_vae_rerun_bucket"  # attribute on each AppSession
_INSTALL = threading.Lock()


@dataclass
class Bucket:
    tokens: float = BURST
    stamp: float = 0.0
    pending: ClientState | None = None
    waiting: bool = False  # a kept request is scheduled

    def take(self, now: float) -> bool:
        """Spend a token if there is one (refilled at RATE a second since the last call)."""
        self.tokens = min(BURST, self.tokens + (now - self.stamp) * RATE) if self.stamp else self.tokens
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def wait(self) -> float:
        """Seconds until the next token."""
        return max(0.0, (1 - self.tokens) / RATE)


def install() -> None:
    """Wrap AppSession once per process (every page calls this through `layout.page`)."""
    with _INSTALL:
        if getattr(AppSession, "_vae_rerun_throttle", False):
            return
        request = AppSession.request_rerun

        def release(session: AppSession) -> None:
            bucket: Bucket = getattr(session, _BUCKET)
            if not bucket.take(time.monotonic()):
                asyncio.get_running_loop().call_later(bucket.wait(), release, session)
                return
            state, bucket.pending, bucket.waiting = bucket.pending, None, False
            request(session, state)

        def throttled(self: AppSession, client_state: ClientState | None) -> None:
            bucket = self.__dict__.setdefault(_BUCKET, Bucket())
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not the server's event loop (no browser behind it): as Streamlit does
                request(self, client_state)
                return
            if not bucket.waiting and bucket.take(time.monotonic()):
                request(self, client_state)
                return
            kept = None
            if client_state is not None:
                kept = ClientState()
                kept.CopyFrom(client_state)
                kept.fragment_id = ""  # a full run redraws every fragment the older requests asked for
            bucket.pending = kept
            if not bucket.waiting:
                bucket.waiting = True
                LOG.warning("%s %s (more than %g a second)", THROTTLED, self.id, RATE)
                loop.call_later(bucket.wait(), release, self)

        AppSession.request_rerun = throttled
        AppSession._vae_rerun_throttle = True
