"""Timestamps of the Streamlit server's own steps, for `bench.browser_latency --server-split`.

Python imports `sitecustomize` at start-up from any folder on PYTHONPATH: the benchmark puts this
folder there for its server only, with VAE_TRACE_FILE naming the file to append to. Once Streamlit's
bootstrap is imported, three of its methods are wrapped to write one line each time they run:
"<epoch ms> <what>" for a message from a browser, a script run's start and end, and each message
the server's event loop sends. Nothing here runs in the app as `make run` starts it.
"""

import os
import threading
import time

_PATH = os.environ.get("VAE_TRACE_FILE")


def _install(path: str) -> None:
    from streamlit.runtime import app_session, runtime
    from streamlit.runtime.scriptrunner import script_runner

    lock, out = threading.Lock(), open(path, "a", buffering=1)  # noqa: SIM115 - open for the server's life

    def log(what: str) -> None:
        with lock:
            out.write(f"{time.time() * 1000:.3f} {what}\n")

    def wrap(cls, name: str, before, after=None) -> None:
        original = getattr(cls, name)

        def wrapped(self, *args):
            before(*args)
            try:
                return original(self, *args)
            finally:
                if after is not None:
                    after()

        setattr(cls, name, wrapped)

    wrap(app_session.AppSession, "handle_backmsg", lambda msg: log(f"received {msg.WhichOneof('type')}"))
    wrap(script_runner.ScriptRunner, "_run_script", lambda data: log("run start"), lambda: log("run end"))
    wrap(runtime.Runtime, "_send_message", lambda info, msg: log(f"sent {msg.WhichOneof('type')}"))


if _PATH:
    import builtins
    import sys

    _import = builtins.__import__

    def _watching_import(name, *args, **kwargs):
        module = _import(name, *args, **kwargs)
        if builtins.__import__ is _watching_import and "streamlit.web.bootstrap" in sys.modules:
            builtins.__import__ = _import  # once: Streamlit's classes exist now
            _install(_PATH)
        return module

    builtins.__import__ = _watching_import
