"use strict";
// The latent map, all in the browser: test images as dots (or their pictures), coloured by a choice;
// hover a dot to see its picture, hover empty space to see what the decoder draws there, click to pick
// or to send the spot to Generate; an epoch slider replays the map over training. Canvas 2D only (no
// WebGL needed). This file: the epoch slider, the Streamlit protocol (apiVersion 1), the controls and
// the mouse, and the hooks tests read. See ../__init__.py for the Python side and what travels.

// ---- time: the map at each recorded epoch -----------------------------------------------------------

function showFrame(frame) {
  S.frame = frame;
  epochLabel();
  leave();
  draw();
}

function epochLabel() {
  legend(colourOption());
  const frame = S.frame;
  const epochs = S.spec.frames?.epochs ?? [];
  const last = epochs.length; // the slider's last stop is "now"
  $("scrub").value = frame < 0 ? last : frame;
  const all = `${S.n.toLocaleString("en")} test ${S.spec.noun}s`; // frames may follow fewer: "now" shows them all
  $("epoch").textContent = frame < 0 ? `now, epoch ${S.spec.epoch}: ${all}` : `epoch ${epochs[frame]} of ${S.spec.epoch}`;
  $("scrub").setAttribute("aria-valuetext", $("epoch").textContent);
}

function play() {
  const epochs = S.spec.frames.epochs;
  if (S.frame < 0) showFrame(0); // from "now", ▶ starts over
  S.playing = true;
  $("play").textContent = "⏸ Pause";
  clearInterval(S.timer);
  S.timer = setInterval(() => {
    const next = S.frame + 1;
    if (next >= epochs.length) {
      pause();
      showFrame(-1);
    } else showFrame(next);
  }, 1000 / 4);
}

function pause() {
  S.playing = false;
  clearInterval(S.timer);
  $("play").textContent = "▶ Play";
}

// ---- Streamlit -------------------------------------------------------------------------------------

function buildControls(spec) {
  const select = $("colour-by");
  const keys = JSON.stringify(spec.colour_options.map((o) => [o.key, o.name]));
  if (select.dataset.keys !== keys) {
    select.dataset.keys = keys;
    select.replaceChildren(...spec.colour_options.map((o) => new Option(o.name, o.key)));
    if (!spec.colour_options.some((o) => o.key === S.colourBy)) S.colourBy = spec.colour_options[0].key;
    select.value = S.colourBy;
  }
  const conditional = spec.decoder.conditional;
  $("decode-as").hidden = !conditional;
  const names = spec.class_names.join();
  if (conditional && $("digit").dataset.names !== names) {
    $("digit").dataset.names = names;
    $("digit").replaceChildren(...spec.class_names.map((name, d) => new Option(name, d)));
    $("digit").value = S.digit;
  }
  const frames = spec.frames;
  $("time").hidden = !frames;
  if (frames) {
    $("scrub").max = frames.epochs.length; // the last stop is "now"
  }
  $("note").textContent = spec.note || "";
}

// The screen height the map may take so that it and its controls fit on one screen: the parent page's
// viewport below this iframe when the iframe starts in its upper half (the Latent space page), the whole
// viewport otherwise (a map further down is scrolled to). Measured once: scrolling must not resize it.
function room() {
  if (S.room === undefined) {
    try {
      const viewport = window.parent.innerHeight;
      const top = window.frameElement.getBoundingClientRect().top;
      S.room = top > 0 && top < viewport * 0.6 ? viewport - top : viewport;
    } catch {
      S.room = null; // not same-origin: the width decides alone
    }
  }
  if (!S.room) return Infinity;
  const others = $("root").getBoundingClientRect().height - $("stage").getBoundingClientRect().height;
  return S.room - others - 12;
}

function layout() {
  const width = Math.floor($("stage").clientWidth);
  const height = Math.round(Math.min(S.spec.max_height, Math.max(260, Math.min(width * 0.7, room()))));
  const changed = width !== S.width || height !== S.height;
  S.width = width;
  S.height = height;
  $("stage").style.height = `${height}px`;
  return changed;
}

async function apply(args) {
  const spec = args.spec;
  const fresh = !S.spec || S.spec.points_key !== spec.points_key || S.spec.frames?.key !== spec.frames?.key;
  S.spec = spec;
  buildControls(spec);
  if (args.blob && args.seq !== S.seq) {
    S.seq = args.seq;
    S.pending = null;
    try {
      await receive(args);
      S.asked = 0;
    } catch (err) {
      S.asked = 3; // the same bytes would come again: do not ask
      $("loading").textContent = `Could not read the map: ${err.message}`;
      console.error("latent map:", err);
    }
  }
  const wanted = new Set(spec.parcels.map(([, digest]) => digest));
  for (const digest of S.parcels.keys()) if (!wanted.has(digest)) S.parcels.delete(digest), S.sizes.delete(digest);
  if (![...wanted].every((d) => S.parcels.has(d))) {
    S.ready = false;
    if (S.pending === null || args.served === S.pending) requestParcels();
    resize();
    return;
  }
  S.xy = parcel("xy");
  S.n = S.xy.length / 2;
  S.frames = spec.frames ? parcel("frames") : null;
  $("loading").hidden = true;
  layout();
  if (fresh || !S.ready || !S.home) {
    if (S.frame >= (spec.frames?.epochs.length ?? 0)) S.frame = -1;
    S.home = homeView();
    S.view = { ...S.home };
  }
  S.ready = true;
  computeColours();
  epochLabel();
  draw(); // a hover in progress stays: a rerun (another student's click elsewhere) must not blink it away
  if (S.hover && S.mouse) hoverAt(...S.mouse);
  resize();
}

function onRender(args, theme) {
  if (theme) {
    const st = document.documentElement.style;
    st.setProperty("--primary", theme.primaryColor);
    st.setProperty("--text", theme.textColor);
    st.setProperty("--bg", theme.backgroundColor);
    if (theme.font) st.setProperty("--font", theme.font);
  }
  S.chain = S.chain.then(() => apply(args)).catch((err) => ($("loading").textContent = `Error: ${err.message}`));
}

function resize() {
  const h = Math.ceil($("root").getBoundingClientRect().height) + 4;
  if (h !== S.frameHeight) {
    S.frameHeight = h;
    send("streamlit:setFrameHeight", { height: h });
  }
}

function local(event) {
  const r = overlay.getBoundingClientRect();
  return [event.clientX - r.left, event.clientY - r.top];
}

overlay.addEventListener("pointermove", (event) => {
  const [px, py] = local(event);
  if (S.drag) {
    const dx = px - S.drag.px;
    const dy = py - S.drag.py;
    if (Math.abs(dx) + Math.abs(dy) > 4) S.drag.moved = true;
    if (S.drag.moved) {
      S.view.cx = S.drag.cx - dx / S.view.scale;
      S.view.cy = S.drag.cy + dy / S.view.scale;
      overlay.classList.add("grabbing");
      draw();
      return;
    }
  }
  S.mouse = [px, py];
  if (S.ready) queueHover(px, py);
});
overlay.addEventListener("pointerdown", (event) => {
  const [px, py] = local(event);
  overlay.setPointerCapture(event.pointerId);
  S.drag = { px, py, cx: S.view.cx, cy: S.view.cy, moved: false };
});
overlay.addEventListener("pointerup", (event) => {
  const [px, py] = local(event);
  const drag = S.drag;
  S.drag = null;
  overlay.classList.remove("grabbing");
  if (drag && !drag.moved && S.ready) click(px, py);
});
overlay.addEventListener("pointerleave", () => !S.drag && leave());
overlay.addEventListener(
  "wheel",
  (event) => {
    if (!S.ready) return;
    event.preventDefault();
    const [px, py] = local(event);
    const [x, y] = toMap(px, py);
    const factor = Math.exp(-event.deltaY * 0.0015);
    S.view.scale = Math.min(S.home.scale * 40, Math.max(S.home.scale / 2, S.view.scale * factor));
    // keep the map point under the mouse where it was
    S.view.cx = x - (px - S.width / 2) / S.view.scale;
    S.view.cy = y + (py - S.height / 2) / S.view.scale;
    draw();
    queueHover(px, py);
  },
  { passive: false },
);
overlay.addEventListener("dblclick", () => {
  if (!S.home) return;
  S.view = { ...S.home };
  draw();
});
$("colour-by").addEventListener("change", () => {
  S.colourBy = $("colour-by").value;
  computeColours();
  draw();
});
$("thumbs").addEventListener("change", () => {
  S.thumbs = $("thumbs").checked;
  draw();
});
$("digit").addEventListener("change", () => {
  S.digit = Number($("digit").value);
  leave();
});
$("scrub").addEventListener("input", () => {
  pause();
  const v = Number($("scrub").value);
  showFrame(v >= S.spec.frames.epochs.length ? -1 : v);
});
$("play").addEventListener("click", () => (S.playing ? pause() : play()));
new ResizeObserver(() => {
  resize();
  if (S.ready && layout()) {
    S.home = homeView();
    S.view = { ...S.home };
    draw();
  }
}).observe($("root"));
window.addEventListener("message", (event) => {
  if (event.data?.type === "streamlit:render") onRender(event.data.args, event.data.theme);
});

// Hooks for tests and the benchmark (CSS pixels inside this frame; map coordinates).
window.__map = () => ({
  ready: S.ready,
  n: S.n,
  shown: S.ready ? shownCount() : 0,
  frame: S.frame,
  epochs: S.spec?.frames?.epochs ?? [],
  colourBy: S.colourBy,
  thumbs: S.thumbs,
  digit: S.digit,
  hover: S.hover,
  mark: S.spec?.mark ?? null,
  picked: S.spec?.picked ?? null,
  pickedName: S.spec?.picked_name ?? "",
  stage: { left: $("stage").offsetLeft, top: $("stage").offsetTop, width: S.width, height: S.height },
  stats: { ...window.__mapStats },
});
window.__pointOnScreen = (i) => {
  const [px, py] = toScreen(...pointXY(i));
  return [px + $("stage").offsetLeft, py + $("stage").offsetTop];
};
window.__toScreen = (x, y) => {
  const [px, py] = toScreen(x, y);
  return [px + $("stage").offsetLeft, py + $("stage").offsetTop];
};
// The emptiest spot: the grid cell centre farthest from every point on show.
window.__emptySpot = () => {
  let best = null;
  for (let gx = 0.15; gx <= 0.85; gx += 0.05) {
    for (let gy = 0.15; gy <= 0.85; gy += 0.05) {
      const px = gx * S.width;
      const py = gy * S.height;
      let near = Infinity;
      for (let i = 0; i < shownCount(); i++) {
        const [sx, sy] = toScreen(...pointXY(i));
        near = Math.min(near, (sx - px) ** 2 + (sy - py) ** 2);
      }
      if (!best || near > best[2]) best = [px, py, near];
    }
  }
  return [best[0] + $("stage").offsetLeft, best[1] + $("stage").offsetTop, Math.sqrt(best[2])];
};
window.__zAt = (x, y) => zAt(x, y);
window.__mapTestIndex = (i) => parcel("index")[i];
// Bytes of each part of the map on show, as sent: what a fresh browser receives for it.
window.__mapPartBytes = () => Object.fromEntries(S.spec.parcels.map(([name, digest]) => [name, S.sizes.get(digest)]));
window.__mapModel = () => S.spec?.points_key ?? "";
window.__decodeAt = (x, y, digit) => {
  const keep = S.digit;
  if (digit !== undefined) S.digit = digit;
  const out = Array.from(decodeAt(x, y));
  S.digit = keep;
  return out;
};
window.__tipPixels = () => Array.from(tipCtx.getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0));

send("streamlit:componentReady", { apiVersion: 1 });
