"""The latent map as a component: hover a test image's dot to see it, hover empty space to see what the
decoder draws there, click to send that spot to Generate, colour by label, guess, slant or thickness,
and replay the map over training. All of it happens in the browser (`frontend/*.js`, canvas 2D, so
no WebGL is needed): nothing reaches the server while the mouse moves.

A custom component (`components.v1`, a hand-written iframe, no build step, like `latent_canvas` and
`film`). The decoder is `latent_canvas`'s own `frontend/decoder.js`: Streamlit serves a component's
files only from its own folder (symlinks out of it are refused), so this module registers that folder
a second time, as the component "decoder" that is never drawn, and the map's page loads
`../ui.latent_map.decoder/decoder.js` from it.

What travels, each part once per browser (the weight protocol of `latent_canvas` and the frame protocol
of `film`, for named parts): a render lists the parts the map needs (`parcels`: name, content digest,
type) and attaches, back to back in one `bytes` argument, only those the iframe does not hold yet. The
parts: the decoder's weights (`latent_canvas.pack_decoder`, its digest the run's key), the sprite
sheet (PNG), the points' coordinates, test indices, labels, guesses, slant and thickness, for t-SNE the
points' z (float16, for the nearest-points way back), and the recorded epochs' coordinates (float16).
Python remembers per session which digests the iframe holds (`st.session_state["<key>__held"]`); an
iframe that lacks one (a fresh one after the page was left, a lost message) asks with
`{"need": <token>}` and is answered once per token, with everything.

Clicks come back as the component's value `{"event": {"iframe", "n", "kind": "pick" | "generate", ...}}`;
`latent_map` returns each event once. If `frontend/index.html` is missing, `available()` is False and
pages draw the plotly map instead.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import streamlit.components.v1 as components

from ui import latent_canvas
from ui.film import pack
from ui.map_data import Encoded, Frames, Points
from vae.run import RunView

FRONTEND_DIR = Path(__file__).resolve().parent / "frontend"
MAX_HEIGHT = 520  # pixels of map at most: with its controls it stays on a 768-pixel-high screen


@dataclass(frozen=True)
class Parcel:
    name: str
    kind: str  # how frontend/state.js reads it: f32, f16, i32, u8, png, decoder
    digest: str
    data: bytes


def _parcel(name: str, kind: str, data: bytes) -> Parcel:
    return Parcel(name, kind, hashlib.blake2b(data, digest_size=12).hexdigest(), data)


@st.cache_resource(max_entries=16, show_spinner=False)
def _point_parcels(dataset: str, _pts: Points) -> tuple[Parcel, ...]:
    return (
        _parcel("sprites", "png", _pts.sprites),
        _parcel("index", "i32", _pts.index.astype("<i4").tobytes()),
        _parcel("labels", "u8", _pts.labels.tobytes()),
        _parcel("slant", "f32", _pts.slant.astype("<f4").tobytes()),
        _parcel("thickness", "f32", _pts.thickness.astype("<f4").tobytes()),
    )


@st.cache_resource(max_entries=16, show_spinner=False)
def _model_parcels(key: str, _enc: Encoded, _coords: np.ndarray, nearest: bool) -> tuple[Parcel, ...]:
    parcels = [_parcel("xy", "f32", np.ascontiguousarray(_coords, "<f4").tobytes())]
    if _enc.guesses is not None:
        parcels.append(_parcel("guesses", "u8", _enc.guesses.tobytes()))
    if nearest:
        parcels.append(_parcel("z", "f16", np.ascontiguousarray(_enc.mu, "<f2").tobytes()))
    return tuple(parcels)


@st.cache_resource(max_entries=16, show_spinner=False)
def _frame_parcel(key: str, _frames: Frames) -> Parcel:
    return _parcel("frames", "f16", np.ascontiguousarray(_frames.xy, "<f2").tobytes())


def available() -> bool:
    return (FRONTEND_DIR / "index.html").is_file() and (latent_canvas.FRONTEND_DIR / "decoder.js").is_file()


def colour_options(pts: Points, enc: Encoded, kind: str) -> list[dict]:
    """The "Colour by" choices: true label, the classifier's guess (a model that has one), slant, thickness.
    A continuous measure's colours span its 2nd to 98th percentile."""

    def spread(values: np.ndarray) -> list[float]:
        finite = values[np.isfinite(values)]
        lo, hi = np.percentile(finite, [2, 98]) if len(finite) else (0.0, 1.0)
        return [float(lo), float(hi if hi > lo else lo + 1)]

    options = [{"key": "label", "name": f"true {kind}", "kind": "class", "parcel": "labels"}]
    if enc.guesses is not None:
        options.append({"key": "guess", "name": "the classifier's guess", "kind": "class", "parcel": "guesses"})
    options.append(
        {"key": "slant", "name": "slant (from the pixels)", "kind": "scale", "parcel": "slant",
         "range": spread(pts.slant), "low": "leans left", "high": "leans right", "unit": "°", "digits": 0}
    )  # fmt: skip
    options.append(
        {"key": "thickness", "name": "stroke thickness (from the pixels)", "kind": "scale", "parcel": "thickness",
         "range": spread(pts.thickness), "low": "thin", "high": "thick", "unit": " px", "digits": 1}
    )  # fmt: skip
    return options


def latent_map(
    *,
    run: RunView,
    pts: Points,
    enc: Encoded,
    coords: np.ndarray,
    inverse: dict,
    axes: tuple[str, str],
    class_names: tuple[str, ...],
    kind: str,
    noun: str,
    frames: Frames | None = None,
    note: str = "",
    mark: dict | None = None,
    picked: int | None = None,
    picked_name: str = "",
    pick_text: str = "",
    key: str,
) -> None:
    """Draw the map. Its clicks come from `take_event(key)`, which a page calls *before* drawing it, so
    that what a click changes (the ringed dot, say) is drawn in the same run.

    coords (N, 2): the points on today's map; inverse: `ui.map_data.inverse_spec`; frames: the run's map
    over training (None: `note` says why); mark: {"xy": [x, y], "cov": 2x2, "name"} drawn as a star with
    its 1- and 2-sigma ellipses; picked: the point (row of `pts`) to ring, named in the legend as
    `picked_name`; pick_text: what the status line says a click on a dot does. `run`: the model shown, its
    weights' key and epoch."""
    model, weights_key, epoch = run.model, run.key, run.epoch
    c = model.config
    ss = st.session_state
    why_not = latent_canvas.browser_cannot_decode(model)
    nearest = inverse["kind"] == "nearest"
    parcels = [
        *_point_parcels(pts.dataset, pts),
        *_model_parcels(f"{weights_key}-{inverse['kind']}", enc, coords, nearest),
    ]
    if why_not is None:
        parcels.append(Parcel("decoder", "decoder", f"w-{weights_key}", b""))  # bytes packed only when sent
    if frames is not None:
        parcels.append(_frame_parcel(frames.key, frames))
    reported = ss.get(key)  # the iframe's last value: a click, a request for parts, or None
    need = reported.get("need") if isinstance(reported, dict) else None
    answer = need is not None and need != ss.get(f"{key}__served")
    held = set() if answer else set(ss.get(f"{key}__held", ()))
    missing = [p for p in parcels if p.digest not in held]
    blobs = [latent_canvas.pack_decoder(model) if p.kind == "decoder" else p.data for p in missing]
    if missing:
        ss[f"{key}__seq"] = ss.get(f"{key}__seq", 0) + 1
    if answer:
        ss[f"{key}__served"] = need
    ss[f"{key}__held"] = [p.digest for p in parcels]
    spec = {
        "points_key": f"{pts.dataset}-{weights_key}-{inverse['kind']}",
        "parcels": [[p.name, p.digest, p.kind] for p in parcels],
        "decoder": {
            "sizes": [model.decoder_input_dim, *c.decoder_layers, 784],
            "activation": c.activation,
            "conditional": c.conditional,
            "z_dim": c.z_dim,
            "in_browser": why_not is None,
            "why_not": why_not or "",
        },
        "inverse": inverse,
        "axes": list(axes),
        "class_names": list(class_names),
        "noun": noun,
        "followed": pts.followed,
        "epoch": epoch,
        "frames": {"key": frames.key, "epochs": list(frames.epochs)} if frames is not None else None,
        "note": note,
        "prior": inverse_prior(enc, inverse),
        "mark": mark,
        "picked": picked,
        "picked_name": picked_name,
        "colour_options": colour_options(pts, enc, kind),
        "max_height": MAX_HEIGHT,
        "pick_text": pick_text or f"Click to look at this {noun} up close.",
        "space_text": "What the decoder draws at this spot. Click to open it on the Generate page.",
    }
    components.declare_component("decoder", path=str(latent_canvas.FRONTEND_DIR))  # serves decoder.js
    component = components.declare_component("latent_map", path=str(FRONTEND_DIR))
    component(
        spec=spec,
        blob=pack(blobs) if blobs else None,
        sent=[[p.digest, len(b)] for p, b in zip(missing, blobs, strict=True)],
        seq=ss.get(f"{key}__seq", 0),
        served=ss.get(f"{key}__served"),
        key=key,
        default=None,
    )


def take_event(key: str) -> dict | None:
    """The map's click not taken before ({"kind": "pick", "index": test index} or {"kind": "generate",
    "z": [...], "digit": d, "xy": [x, y]}), else None. The map's last value is in the session state
    before the map is drawn again: read it first, and the run that follows a click draws its result."""
    reported = st.session_state.get(key)
    event = reported.get("event") if isinstance(reported, dict) else None
    if not isinstance(event, dict):
        return None
    stamp = (event.get("iframe"), event.get("n"))
    if st.session_state.get(f"{key}__handled") == stamp:
        return None
    st.session_state[f"{key}__handled"] = stamp
    return _checked(event)


def _number(value: object) -> float | None:
    """A finite number as a float (not a bool, a string or NaN), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _checked(event: dict) -> dict | None:
    """The event as the map sends it, its numbers checked; None for anything else (a forged message:
    it gave the sender a traceback)."""
    if event.get("kind") == "pick":
        index = event.get("index")
        return {"kind": "pick", "index": index} if isinstance(index, int) and not isinstance(index, bool) else None
    if event.get("kind") == "generate":
        z, xy, digit = event.get("z"), event.get("xy", [0.0, 0.0]), event.get("digit", 0)
        if not isinstance(z, list) or len(z) > 64 or not isinstance(xy, list) or len(xy) != 2:
            return None
        numbers = [_number(v) for v in [*z, *xy, digit]]
        if None in numbers or numbers[-1] != int(numbers[-1]):
            return None
        return {"kind": "generate", "z": numbers[: len(z)], "xy": numbers[len(z) : -1], "digit": int(numbers[-1])}
    return None


def inverse_prior(enc: Encoded, inverse: dict) -> list[float] | None:
    """Where the prior N(0, I) is centred on a plane map (its 1- and 2-sigma circles are drawn there);
    None on a t-SNE map, which has no place for it."""
    if inverse["kind"] != "plane":
        return None
    return [float(v) for v in enc.plane.prior_centre]


def open_in_generate(event: dict, z_dim: int, conditional: bool) -> None:
    """Hand a "generate" click's z and digit to the Generate page and go there (as Latent space's
    "Open in Generate" does)."""
    z = event["z"]  # checked by take_event
    if len(z) != z_dim:
        return  # made for another model
    x, y = event["xy"]
    st.session_state["gen_request"] = {
        "z": list(z),
        "digit": min(max(event["digit"], 0), 9) if conditional else 0,
        "source": f"the latent map at ({x:.2f}, {y:.2f})",
    }
    st.switch_page("pages/2_Generate.py")
