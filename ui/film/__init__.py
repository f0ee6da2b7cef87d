"""The film of a run: the same few styles drawn as every class at each epoch, played in the browser.

A frame is what the trainer draws at an epoch's end: S fixed styles z, each decoded as each of the C
classes (S rows, C columns of 28x28 pictures). A run's frames, (F, S, C, H, W), go to a custom
component (`components.v1`, a hand-written iframe in `frontend/`, no build step, like `latent_canvas`)
that shows one frame at a time, large, with the epoch it was drawn at, a slider over the frames and a
play button. Scrubbing and playing happen in the browser: the component never sets a value per
frame, so nothing reaches the server while a student watches the digits sharpen.

What travels, each frame once per browser:
* A render carries the frames the iframe does not hold yet as PNG files (`frame_png`: one grayscale
  picture per frame, S rows of C pictures, no gaps) back to back in one `bytes` argument, which
  Streamlit hands to the iframe as a Uint8Array (no base64), with their lengths and content digests
  as JSON; beside them the digest and epoch of every frame on the slider (`order`, `epochs`).
* At most `MAX_FRAMES` frames are on the slider (`frames_to_show`): a long run keeps its first
  `HEAD`, its last, and evenly spaced ones between, chosen so that a growing run never needs a
  frame sent again.
* Python remembers per browser session (`st.session_state["<key>__held"]`) the frames the iframe
  holds (the last `order` it was sent; the iframe drops the others) and attaches only the missing
  ones: the reruns of a live panel (one a second) send nothing until an epoch adds a frame, and
  then only the new frames. An iframe that lacks a frame it is told about (a fresh one after the page
  was left and reopened, or a lost message) asks for them all by setting its value to
  `{"need": <random token>}`; Python answers each token once (every frame plus `served=<token>`), and
  the iframe asks again with a new token if an answer was lost (3 tries, then it says so).
* Measured (`python -m bench.film_payload --epochs 40 300 --seeds 0 1 2`: `seed` runs on the offline
  subset, 4 styles x 10 digits a frame, JSON included): a browser that opens the page gets 40 frames
  in 659-673 KB (16-18 KB a frame; one PNG sheet of all 40 would be 619-633 KB), then 16-17 KB per
  epoch of a live run. A 300-epoch run watched from its start costs a browser 4.8-4.9 MB in all;
  re-sending a sheet of the slider's frames at every epoch would have cost about 300 x 450 KB.

In the browser: the newest frame is shown when new frames arrive, unless the student has moved away
from the last one (then the same epoch stays on screen); ▶ plays about 6 frames a second and stops at
the last (▶ at the last starts over); the slider takes the arrow keys. The picture takes the width of
its column, at most 3x the frame's own size. If `frontend/index.html` is missing, the last frame is
drawn with `st.image` and a note says why.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import streamlit as st
import streamlit.components.v1 as components
from PIL import Image

from vae.images import grid

FRONTEND_DIR = Path(__file__).resolve().parent / "frontend"
MAX_FRAMES = 40  # frames sent to the browser; a longer run is thinned by `frames_to_show`
HEAD = 10  # a thinned run keeps its first HEAD frames: the early epochs change the picture most
FPS = 6  # frames a second while playing (the browser's own timer)
MAX_STYLES = 16  # rows per frame: keeps the sprite under 32,768 pixels tall, a limit for browsers' images


def frames_to_show(n: int, max_frames: int = MAX_FRAMES, head: int = HEAD) -> list[int]:
    """Indices of the frames to send out of `n`: all of them while n <= max_frames. Beyond that, with
    frames numbered from 1: the first `head` (the first epochs, where the picture changes most), the
    last one, and between them the multiples of the smallest power of two that keeps the count at
    most max_frames. E.g. one frame per epoch for 300 epochs: epochs 1-10, 16, 32, ..., 288 and 300.

    Why powers of two: as a live run adds frames, the set kept only gains the newest frame or drops
    some (when the step doubles, every other one), so a browser is sent each frame once, never again
    because the spacing moved (evenly spread frames would shift with every epoch)."""
    if not 1 <= head < max_frames - 1:
        raise ValueError(f"head must be 1..{max_frames - 2}, got {head}")
    if n <= max_frames:
        return list(range(n))
    step = 2
    while True:
        middle = [k for k in range(step, n, step) if k > head]  # frame numbers, from 1
        if head + len(middle) + 1 <= max_frames:
            return [*range(head), *(k - 1 for k in middle), n - 1]
        step *= 2


def as_uint8(frames: np.ndarray) -> np.ndarray:
    """uint8 frames as they are; floats in [0, 1] (values outside are clipped) to 0..255."""
    frames = np.asarray(frames)
    if frames.dtype == np.uint8:
        return frames
    if not np.issubdtype(frames.dtype, np.floating):
        raise ValueError(f"frames must be uint8 (0..255) or floats in [0, 1], got {frames.dtype}")
    if not np.isfinite(frames).all():
        raise ValueError("frames contain NaN or infinity")
    return np.round(np.clip(frames, 0.0, 1.0) * 255).astype(np.uint8)


def frame_png(frame: np.ndarray) -> bytes:
    """One uint8 frame (S, C, H, W) as a grayscale PNG of S*H rows and C*W columns: style s is the
    band of rows from s*H, class c the columns from c*W (no gaps: the browser draws them)."""
    s, c, h, w = frame.shape
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frame.transpose(0, 2, 1, 3).reshape(s * h, c * w))).save(buffer, format="PNG")
    return buffer.getvalue()


def read_frame_png(png: bytes, shape: Sequence[int]) -> np.ndarray:
    """The inverse of `frame_png`: PNG bytes back to a uint8 frame of `shape` (S, C, H, W)."""
    s, c, h, w = shape
    return np.asarray(Image.open(io.BytesIO(png))).reshape(s, h, c, w).transpose(0, 2, 1, 3)


def digests(frames: np.ndarray) -> list[str]:
    """A name for each frame's content (F, S, C, H, W): the browser keeps frames by it."""
    shape = str(frames.shape[1:]).encode()  # the same bytes in another shape are another picture
    return [hashlib.blake2b(shape + f.tobytes(), digest_size=12).hexdigest() for f in frames]


def pack(pngs: Sequence[bytes]) -> bytes:
    """PNG files back to back: the one `bytes` argument of a render (lengths go beside it as JSON)."""
    return b"".join(pngs)


def unpack(data: bytes, lengths: Sequence[int]) -> list[bytes]:
    """The inverse of `pack`."""
    ends = np.cumsum([0, *lengths])
    if ends[-1] != len(data):
        raise ValueError(f"the lengths add up to {ends[-1]} bytes, the data has {len(data)}")
    return [data[a:b] for a, b in zip(ends[:-1], ends[1:], strict=True)]


def _check(frames: np.ndarray, epochs: Sequence[int], labels: Sequence[str] | None) -> None:
    if frames.ndim != 5:
        raise ValueError(f"frames must have shape (frames, styles, classes, height, width), got {frames.shape}")
    f, s, c, h, w = frames.shape
    if not 1 <= s <= MAX_STYLES or c < 1 or h < 1 or w < 1:
        raise ValueError(f"each frame must hold 1..{MAX_STYLES} styles of at least one picture, got {frames.shape}")
    if len(epochs) != f:
        raise ValueError(f"epochs must give one epoch per frame ({f}), got {len(epochs)}")
    if any(b <= a for a, b in zip(epochs, epochs[1:], strict=False)):
        raise ValueError(f"epochs must increase from frame to frame, got {list(epochs)}")
    if labels is not None and len(labels) != c:
        raise ValueError(f"labels must name each of the {c} columns, got {len(labels)}")


@st.cache_data(max_entries=256, show_spinner=False)  # ~17 KB each; every browser shares a run's frames
def _png(digest: str, _frame: np.ndarray) -> bytes:
    return frame_png(_frame)


def _prepare(frames: np.ndarray, epochs: list[int]) -> tuple[np.ndarray, list[int], list[str]]:
    """The frames on the slider as uint8 (F', S, C, H, W), their epochs and their digests."""
    keep = frames_to_show(len(epochs))
    shown = as_uint8(frames[keep])  # F' <= MAX_FRAMES
    return shown, [epochs[i] for i in keep], digests(shown)


@st.cache_data(max_entries=8, show_spinner=False)
def _prepared(frames_key: str, _frames: np.ndarray, _epochs: list[int]) -> tuple[np.ndarray, list[int], list[str]]:
    return _prepare(_frames, _epochs)


def film(
    frames: np.ndarray,
    epochs: Sequence[int],
    labels: Sequence[str] | None,
    key: str,
    caption: str = "",
    autoplay: bool = False,
    frames_key: str | None = None,
) -> None:
    """Draw a run's frames with an epoch slider and a play button, scrubbed in the browser.

    frames: (F, S, C, H, W), uint8 (0 black .. 255 white ink) or floats in [0, 1]; frame i was drawn
    after epoch `epochs[i]` (increasing). labels: one per column (the class names), None for none.
    key: the component's key, with the page's prefix (e.g. "train_film"). caption: plain text under
    the picture. autoplay: play from the first frame when the picture first appears.
    frames_key: optional, a name that changes whenever the frames do (e.g. the run's id and its
    number of frames). With it the frames are thinned, converted and hashed once for every browser;
    without it, on every call (about 5-10 ms for 40 frames: a live panel calls it every second in
    every browser watching).
    With no frames yet (a run before its first epoch ends) it says when the first one comes.
    """
    frames = np.asarray(frames)
    epochs = [int(e) for e in epochs]
    _check(frames, epochs, labels)
    if not epochs:
        st.info("The first picture appears when epoch 1 ends.")
        return
    if frames_key is None:
        shown, shown_epochs, order = _prepare(frames, epochs)
    else:
        shown, shown_epochs, order = _prepared(frames_key, frames, epochs)
    if not (FRONTEND_DIR / "index.html").is_file():
        _fallback(shown[-1], shown_epochs[-1], labels, caption)
        return
    ss = st.session_state
    reported = ss.get(key)  # the iframe's last value: a request for frames it lacks, or None
    need = reported.get("need") if isinstance(reported, dict) else None
    answer = need is not None and need != ss.get(f"{key}__served")
    held = set() if answer else set(ss.get(f"{key}__held", ()))  # what the iframe keeps: the last order sent
    missing = {d: frame for d, frame in zip(order, shown, strict=True) if d not in held}  # in order, once each
    pngs = [_png(d, frame) for d, frame in missing.items()]
    if missing:
        ss[f"{key}__seq"] = ss.get(f"{key}__seq", 0) + 1
    if answer:
        ss[f"{key}__served"] = need
    ss[f"{key}__held"] = order
    player = components.declare_component("film", path=str(FRONTEND_DIR))
    player(
        frames=pack(pngs) if pngs else None,
        sent=[[d, len(png)] for d, png in zip(missing, pngs, strict=True)],
        seq=ss.get(f"{key}__seq", 0),
        served=ss.get(f"{key}__served"),
        order=order,
        epochs=shown_epochs,
        shape=list(shown.shape[1:]),
        labels=list(labels) if labels is not None else None,
        caption=caption,
        autoplay=autoplay,
        fps=FPS,
        key=key,
        default=None,
    )


def _fallback(frame: np.ndarray, epoch: int, labels: Sequence[str] | None, caption: str) -> None:
    """The last frame (S, C, H, W) as a still picture, when the player cannot load."""
    st.info("The epoch player could not load (its frontend files are missing): this is the last epoch only.")
    s, c = frame.shape[:2]
    picture = grid(frame.reshape(s * c, *frame.shape[2:]) / 255.0, ncols=c)
    picture = picture.repeat(3, axis=0).repeat(3, axis=1)  # nearest neighbour: the browser would blur it
    columns = f" Columns: {', '.join(labels)}." if labels else ""
    st.image(picture, caption=f"Epoch {epoch}.{columns} {caption}".strip(), width="stretch", output_format="PNG")
