"""Bound what uploads may hold in the server's memory: per session and in all.

Streamlit keeps every uploaded file in memory (`MemoryUploadedFileManager`) until its session ends, with
a size limit per file (`server.maxUploadSize`, 25 MB here) but none per session: one student's script
sent 40 files of 25 MB to its own session's upload URL in 6 s, and the server grew by 1 GB for as long
as that session lived. The app's one uploader takes one picture, so `install()` wraps the manager's
`add_file`: a session keeps its newest PER_SESSION files (an older one is dropped when another
arrives), and once uploads hold TOTAL_BYTES in all, a new one is refused with HTTP 503 (the uploader
shows an error; the student tries again later). `tests/test_server_limits.py` checks both.
"""

from __future__ import annotations

import threading

from starlette.exceptions import HTTPException
from streamlit.logger import get_logger
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

LOG = get_logger(__name__)
PER_SESSION = 2  # the picture shown, and the one before it while the browser swaps them
TOTAL_BYTES = 512 * 1024 * 1024  # twenty 25-MB photos at once: far more than a class uploads
_INSTALL = threading.Lock()


def install() -> None:
    """Wrap the manager once per process (every page calls this through `layout.page`)."""
    with _INSTALL:
        if getattr(MemoryUploadedFileManager, "_vae_upload_guard", False):
            return
        add = MemoryUploadedFileManager.add_file

        def guarded(self: MemoryUploadedFileManager, session_id: str, file: UploadedFileRec) -> None:
            with self._lock:
                held = self.file_storage.get(session_id, {})
                old = held.get(file.file_id)
                total = self._total_bytes  # the manager's own count of what every session holds
                if total - (len(old.data) if old else 0) + len(file.data) > TOTAL_BYTES:
                    LOG.warning("refused an upload of %d bytes: uploads hold %d bytes already", len(file.data), total)
                    raise HTTPException(status_code=503, detail="The server holds too many uploads: try again later.")
                surplus = [fid for fid in held if fid != file.file_id][
                    : max(0, len(held) + (old is None) - PER_SESSION)
                ]
            for fid in surplus:
                self.remove_file(session_id, fid)
            add(self, session_id, file)

        MemoryUploadedFileManager.add_file = guarded
        MemoryUploadedFileManager._vae_upload_guard = True
