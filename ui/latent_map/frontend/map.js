"use strict";
// The latent map, all in the browser: test images as dots (or their pictures), coloured by a choice;
// hover a dot to see its picture, hover empty space to see what the decoder draws there (decoder.js,
// the Generate page's decoder), click to pick or to send the spot to Generate; an epoch slider replays
// the map over training. Canvas 2D only (no WebGL needed). Speaks Streamlit's component protocol
// (apiVersion 1); see ../__init__.py for the Python side and what travels.

const COLOURS = ["#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#7F7F7F", "#BCBD22", "#17BECF"];
const GREY = "#B0B0B0"; // no value (an empty picture's slant, a plain VAE's guess)
const CELL = 28; // sprite cell, pixels
const SPRITE_COLUMNS = 40; // cells per row of the sprite sheet (as ../__init__.py packs it)
const PICK_RADIUS = 6; // CSS pixels around a dot that count as "on" it
const PALETTES = {
  // slant: diverging, mid-grey in the middle so upright digits stay visible on the light background
  slant: ["#5E3C99", "#8E7CC3", "#9A9A9A", "#F1A340", "#E66101"],
  // thickness: viridis, its pale yellow end left out
  thickness: ["#440154", "#3B528B", "#21908C", "#5DC863", "#AADC32"],
};

const IFRAME = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`; // names this iframe's clicks
const S = {
  parcels: new Map(), // digest -> decoded parcel (typed array, ImageBitmap or decoder)
  sizes: new Map(), // digest -> bytes it took to send
  spec: null,
  ready: false,
  seq: null, // `seq` of the last bytes read (re-posted args repeat them)
  pending: null, // token of our open request for parcels
  asked: 0, // requests since parcels last arrived: give up after a few rather than rerun forever
  chain: Promise.resolve(),
  // what is drawn
  n: 0,
  xy: null, // Float32Array (2N): map coordinates now
  frames: null, // Float32Array (M * F * 2): the followed points at each recorded epoch
  frame: -1, // -1: now; else the recorded epoch on show
  colourBy: "label",
  thumbs: false,
  digit: 0,
  view: { cx: 0, cy: 0, scale: 1 }, // map point (cx, cy) at the stage's centre, CSS pixels per map unit
  home: null, // the view that shows everything (double-click returns to it)
  width: 0,
  height: 0,
  colours: [], // one CSS colour per point
  tinted: null, // sprite sheet with each cell's ink in its point's colour (for pictures instead of dots)
  hover: null, // {kind: "point", i} | {kind: "space", x, y} | null
  drag: null,
  playing: false,
  timer: null,
  events: 0, // clicks sent to Python
  lastEvent: null,
  frameHeight: 0,
};
const $ = (id) => document.getElementById(id);
const base = $("base");
const overlay = $("overlay");
const tipCtx = $("tip-picture").getContext("2d");
const tipImage = tipCtx.createImageData(28, 28);
const decoded = new Float32Array(784);

// Test and benchmark hooks (read through Playwright's frame API).
window.__mapStats = { decodes: 0, decodeMs: 0, draws: 0, hovers: 0, received: 0, painted: 0 };

function send(type, data) {
  window.parent.postMessage({ isStreamlitMessage: true, type, ...data }, "*");
}

function setValue(extra) {
  send("streamlit:setComponentValue", { value: { event: S.lastEvent, need: null, ...extra }, dataType: "json" });
}

function requestParcels() {
  if (S.asked >= 3) {
    $("loading").textContent = "The map did not arrive from the server: reload the page.";
    return;
  }
  S.asked += 1;
  S.pending = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  setValue({ need: S.pending });
}

// ---- parcels: typed arrays, the sprite sheet and the decoder, each kept by its digest ----------------

function half(h) {
  // IEEE 754 binary16 -> number (Float16Array is too new for some classroom browsers)
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return sign * f * 2 ** -24;
  if (e === 31) return f ? NaN : sign * Infinity;
  return sign * (1 + f / 1024) * 2 ** (e - 15);
}

async function readParcel(kind, bytes) {
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength); // aligned
  if (kind === "f32") return new Float32Array(copy);
  if (kind === "i32") return new Int32Array(copy);
  if (kind === "u8") return new Uint8Array(copy);
  if (kind === "f16") return Float32Array.from(new Uint16Array(copy), half);
  if (kind === "png") return createImageBitmap(new Blob([bytes], { type: "image/png" }));
  if (kind === "decoder") return VaeDecoder.load(S.spec.decoder, bytes);
  throw new Error(`unknown parcel kind ${kind}`);
}

async function receive(args) {
  let at = 0;
  const kinds = new Map(args.spec.parcels.map(([name, digest, kind]) => [digest, kind]));
  const parts = args.sent.map(([digest, length]) => {
    const bytes = args.blob.subarray(at, at + length);
    S.sizes.set(digest, length);
    at += length;
    return readParcel(kinds.get(digest), bytes).then((value) => [digest, value]);
  });
  for (const [digest, value] of await Promise.all(parts)) S.parcels.set(digest, value);
  window.__mapStats.received += args.sent.length;
}

function parcel(name) {
  const entry = S.spec.parcels.find(([n]) => n === name);
  return entry ? S.parcels.get(entry[1]) : undefined;
}

// ---- geometry -------------------------------------------------------------------------------------

function toScreen(x, y) {
  const v = S.view;
  return [S.width / 2 + (x - v.cx) * v.scale, S.height / 2 - (y - v.cy) * v.scale];
}

function toMap(px, py) {
  const v = S.view;
  return [v.cx + (px - S.width / 2) / v.scale, v.cy - (py - S.height / 2) / v.scale];
}

// Coordinates of point i in what is on show (a recorded epoch shows only the followed points).
function pointXY(i) {
  if (S.frame < 0) return [S.xy[2 * i], S.xy[2 * i + 1]];
  const at = 2 * (S.frame * S.spec.followed + i);
  return [S.frames[at], S.frames[at + 1]];
}

function shownCount() {
  return S.frame < 0 ? S.n : S.spec.followed;
}

// Everything on show, with a margin: the box of the 1st-99th percentiles of every frame and of now.
function homeView() {
  const boxes = [];
  const box = (get, count) => {
    const xs = [];
    const ys = [];
    for (let i = 0; i < count; i++) {
      const [x, y] = get(i);
      if (Number.isFinite(x) && Number.isFinite(y)) xs.push(x), ys.push(y);
    }
    if (!xs.length) return;
    const q = (a, p) => a.sort((u, v) => u - v)[Math.min(a.length - 1, Math.floor(p * a.length))];
    boxes.push([q(xs.slice(), 0.01), q(xs, 0.99), q(ys.slice(), 0.01), q(ys, 0.99)]);
  };
  box((i) => [S.xy[2 * i], S.xy[2 * i + 1]], S.n);
  const epochs = S.frames ? S.spec.frames.epochs.length : 0;
  for (let m = 0; m < epochs; m++) {
    box((i) => [S.frames[2 * (m * S.spec.followed + i)], S.frames[2 * (m * S.spec.followed + i) + 1]], S.spec.followed);
  }
  if (S.spec.prior) {
    const [px, py] = S.spec.prior;
    boxes.push([px - 2, px + 2, py - 2, py + 2]); // the prior's 2-sigma circle stays in view
  }
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [a, b, c, d] of boxes) (x0 = Math.min(x0, a)), (x1 = Math.max(x1, b)), (y0 = Math.min(y0, c)), (y1 = Math.max(y1, d));
  if (!Number.isFinite(x0)) [x0, x1, y0, y1] = [-1, 1, -1, 1];
  const w = Math.max(x1 - x0, 1e-6) * 1.15;
  const h = Math.max(y1 - y0, 1e-6) * 1.15;
  const pad = 36; // room for the tick labels
  return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, scale: Math.min((S.width - pad) / w, (S.height - pad) / h) };
}

// ---- colours --------------------------------------------------------------------------------------

function ramp(stops, t) {
  const u = Math.min(Math.max(t, 0), 1) * (stops.length - 1);
  const k = Math.min(Math.floor(u), stops.length - 2);
  const mix = (a, b) => Math.round(parseInt(a, 16) * (1 - (u - k)) + parseInt(b, 16) * (u - k));
  const [a, b] = [stops[k], stops[k + 1]];
  return `rgb(${mix(a.slice(1, 3), b.slice(1, 3))},${mix(a.slice(3, 5), b.slice(3, 5))},${mix(a.slice(5, 7), b.slice(5, 7))})`;
}

function colourOption() {
  return S.spec.colour_options.find((o) => o.key === S.colourBy) ?? S.spec.colour_options[0];
}

function computeColours() {
  const option = colourOption();
  const values = parcel(option.parcel);
  S.colours = new Array(S.n);
  if (option.kind === "class") {
    for (let i = 0; i < S.n; i++) S.colours[i] = values[i] < 10 ? COLOURS[values[i]] : GREY;
  } else {
    const [lo, hi] = option.range;
    for (let i = 0; i < S.n; i++) {
      const v = values[i];
      S.colours[i] = Number.isFinite(v) ? ramp(PALETTES[option.key], (v - lo) / (hi - lo)) : GREY;
    }
  }
  S.tinted = null; // rebuilt when pictures are drawn
  legend(option);
}

function legend(option) {
  const box = $("legend");
  const parts = [];
  if (option.kind === "class") {
    const used = new Set(parcel(option.parcel));
    S.spec.class_names.forEach((name, c) => {
      if (used.has(c)) parts.push(`<span><span class="swatch" style="background:${COLOURS[c]}"></span>${escape(name)}</span>`);
    });
  } else {
    const stops = PALETTES[option.key].join(",");
    const [lo, hi] = option.range;
    parts.push(
      `<span>${escape(option.low)} ${lo.toFixed(option.digits)}${escape(option.unit)} ` +
        `<span class="bar" style="background:linear-gradient(90deg,${stops})"></span> ` +
        `${hi.toFixed(option.digits)}${escape(option.unit)} ${escape(option.high)}</span>`,
    );
  }
  if (S.spec.prior) parts.push(`<span><span class="ring"></span>the prior N(0, I): 1σ and 2σ</span>`);
  if (S.spec.picked !== null && S.spec.picked !== undefined && S.spec.picked < shownCount()) {
    parts.push(`<span>◯ ${escape(S.spec.picked_name)}</span>`);
  }
  if (S.spec.mark) parts.push(`<span>★ ${escape(S.spec.mark.name)}: μ, ellipse 1σ and 2σ</span>`);
  box.innerHTML = parts.join("");
}

function escape(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

// The sprite sheet with each picture's ink in its point's colour on a transparent ground (once per colouring).
function tintedSheet() {
  if (S.tinted) return S.tinted;
  const sheet = parcel("sprites");
  const canvas = new OffscreenCanvas(sheet.width, sheet.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(sheet, 0, 0);
  const image = ctx.getImageData(0, 0, sheet.width, sheet.height);
  const px = image.data;
  for (let k = 0; k < px.length; k += 4) (px[k + 3] = px[k]), (px[k] = px[k + 1] = px[k + 2] = 0); // ink -> alpha
  ctx.putImageData(image, 0, 0);
  ctx.globalCompositeOperation = "source-atop"; // keep the alpha, take the fill's colour (source-in would clear the rest)
  for (let i = 0; i < S.n; i++) {
    ctx.fillStyle = S.colours[i];
    ctx.fillRect((i % SPRITE_COLUMNS) * CELL, Math.floor(i / SPRITE_COLUMNS) * CELL, CELL, CELL);
  }
  S.tinted = canvas;
  return canvas;
}

// ---- drawing --------------------------------------------------------------------------------------

function sizeCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(S.width * dpr);
  canvas.height = Math.round(S.height * dpr);
  canvas.style.width = `${S.width}px`;
  canvas.style.height = `${S.height}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

function niceStep(span, count) {
  const raw = span / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

function drawAxes(ctx) {
  const [x0, y1] = toMap(0, 0);
  const [x1, y0] = toMap(S.width, S.height);
  ctx.save();
  ctx.font = "11px " + getComputedStyle(document.body).fontFamily;
  ctx.fillStyle = ctx.strokeStyle = getComputedStyle(document.body).color;
  ctx.globalAlpha = 0.55;
  ctx.lineWidth = 1;
  const sx = niceStep(x1 - x0, Math.max(2, S.width / 90));
  for (let x = Math.ceil(x0 / sx) * sx; x <= x1; x += sx) {
    const [px] = toScreen(x, 0);
    ctx.globalAlpha = 0.08;
    ctx.beginPath(), ctx.moveTo(px, 0), ctx.lineTo(px, S.height - 14), ctx.stroke();
    ctx.globalAlpha = 0.6;
    ctx.textAlign = "center";
    ctx.fillText(+x.toPrecision(6), px, S.height - 3);
  }
  const sy = niceStep(y1 - y0, Math.max(2, S.height / 70));
  for (let y = Math.ceil(y0 / sy) * sy; y <= y1; y += sy) {
    const [, py] = toScreen(0, y);
    ctx.globalAlpha = 0.08;
    ctx.beginPath(), ctx.moveTo(24, py), ctx.lineTo(S.width, py), ctx.stroke();
    ctx.globalAlpha = 0.6;
    ctx.textAlign = "left";
    ctx.fillText(+y.toPrecision(6), 2, py + 4);
  }
  ctx.globalAlpha = 0.75;
  ctx.font = "600 12px " + getComputedStyle(document.body).fontFamily;
  ctx.textAlign = "right";
  ctx.fillText(S.spec.axes[0], S.width - 6, S.height - 18);
  ctx.save();
  ctx.translate(14, 6);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(S.spec.axes[1], 0, 10);
  ctx.restore();
  ctx.restore();
}

function ellipse(ctx, cx, cy, cov, k) {
  // cov (2x2) on the map -> the k-sigma ellipse; eigenvectors by the closed form for a 2x2 matrix
  const [[a, b], [, c]] = cov;
  const mid = (a + c) / 2;
  const r = Math.sqrt(((a - c) / 2) ** 2 + b * b);
  const angle = 0.5 * Math.atan2(2 * b, a - c); // of the long axis, in map coordinates
  const [px, py] = toScreen(cx, cy);
  const long = k * Math.sqrt(Math.max(mid + r, 0)) * S.view.scale;
  const short = k * Math.sqrt(Math.max(mid - r, 0)) * S.view.scale;
  ctx.beginPath();
  ctx.ellipse(px, py, Math.max(long, 0.5), Math.max(short, 0.5), -angle, 0, 2 * Math.PI); // screen y points down
  return [px, py];
}

function draw() {
  if (!S.ready) return;
  const ctx = sizeCanvas(base);
  ctx.clearRect(0, 0, S.width, S.height);
  drawAxes(ctx);
  if (S.spec.prior) {
    ctx.save();
    ctx.setLineDash([5, 4]);
    ctx.strokeStyle = "#666";
    ctx.lineWidth = 1.2;
    for (const k of [1, 2]) {
      const [px, py] = toScreen(S.spec.prior[0], S.spec.prior[1]);
      ctx.beginPath(), ctx.arc(px, py, k * S.view.scale, 0, 2 * Math.PI), ctx.stroke();
    }
    ctx.restore();
  }
  const count = shownCount();
  if (S.thumbs) {
    const sheet = tintedSheet();
    const size = Math.min(56, Math.max(14, 20 * Math.sqrt(S.view.scale / S.home.scale)));
    for (let i = 0; i < count; i++) {
      const [px, py] = toScreen(...pointXY(i));
      if (px < -size || py < -size || px > S.width + size || py > S.height + size) continue;
      const sx = (i % SPRITE_COLUMNS) * CELL;
      const sy = Math.floor(i / SPRITE_COLUMNS) * CELL;
      ctx.drawImage(sheet, sx, sy, CELL, CELL, px - size / 2, py - size / 2, size, size);
    }
  } else {
    ctx.globalAlpha = 0.8;
    for (let i = 0; i < count; i++) {
      const [px, py] = toScreen(...pointXY(i));
      if (px < -4 || py < -4 || px > S.width + 4 || py > S.height + 4) continue;
      ctx.fillStyle = S.colours[i];
      ctx.beginPath(), ctx.arc(px, py, 2.6, 0, 2 * Math.PI), ctx.fill();
    }
    ctx.globalAlpha = 1;
  }
  const mark = S.spec.mark;
  if (mark && S.frame < 0) {
    ctx.save();
    ctx.strokeStyle = "#000";
    ctx.fillStyle = "rgba(0,0,0,0.08)";
    ctx.lineWidth = 2;
    ellipse(ctx, mark.xy[0], mark.xy[1], mark.cov, 2);
    ctx.setLineDash([4, 3]), ctx.stroke(), ctx.setLineDash([]);
    const [px, py] = ellipse(ctx, mark.xy[0], mark.xy[1], mark.cov, 1);
    ctx.fill(), ctx.stroke();
    star(ctx, px, py);
    ctx.restore();
    document.body.dataset.mark = `${mark.xy[0].toFixed(4)},${mark.xy[1].toFixed(4)}`;
  }
  if (S.spec.picked !== null && S.spec.picked !== undefined && S.spec.picked < count) {
    const [px, py] = toScreen(...pointXY(S.spec.picked));
    ctx.save();
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 2;
    ctx.beginPath(), ctx.arc(px, py, 7, 0, 2 * Math.PI), ctx.stroke();
    ctx.restore();
  }
  window.__mapStats.draws += 1;
  document.body.dataset.draws = window.__mapStats.draws;
  document.body.dataset.frame = S.frame;
  drawOverlay();
}

function star(ctx, x, y) {
  ctx.beginPath();
  for (let k = 0; k < 10; k++) {
    const r = k % 2 ? 4.5 : 11;
    const t = -Math.PI / 2 + (k * Math.PI) / 5;
    ctx.lineTo(x + r * Math.cos(t), y + r * Math.sin(t));
  }
  ctx.closePath();
  ctx.fillStyle = "#000";
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 2;
  ctx.fill(), ctx.stroke();
}

function drawOverlay() {
  const ctx = sizeCanvas(overlay);
  ctx.clearRect(0, 0, S.width, S.height);
  if (S.hover?.kind === "point") {
    const [px, py] = toScreen(...pointXY(S.hover.i));
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 2;
    ctx.beginPath(), ctx.arc(px, py, 6, 0, 2 * Math.PI), ctx.stroke();
  } else if (S.hover?.kind === "space") {
    const [px, py] = toScreen(S.hover.x, S.hover.y);
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 1;
    ctx.beginPath(), ctx.arc(px, py, 4, 0, 2 * Math.PI), ctx.stroke();
  }
}

// ---- hover: a dot's picture, or the decoder's drawing of the spot ----------------------------------

function nearestPoint(px, py) {
  const radius = S.thumbs ? Math.max(PICK_RADIUS, 10 * Math.sqrt(S.view.scale / S.home.scale)) : PICK_RADIUS;
  let best = -1;
  let bestD = radius * radius;
  for (let i = shownCount() - 1; i >= 0; i--) {
    // from the top: the last drawn is the one seen
    const [sx, sy] = toScreen(...pointXY(i));
    const d = (sx - px) ** 2 + (sy - py) ** 2;
    if (d < bestD) (bestD = d), (best = i);
  }
  return best;
}

// The z under map point (x, y): the plane's exact way back (PCA, or z itself), or for t-SNE the
// weighted mean z of the nearest points (vae.projection.nearest_inverse, the same formula).
function zAt(x, y) {
  const inv = S.spec.inverse;
  if (inv.kind === "plane") return inv.mean.map((m, j) => m + x * inv.axes[0][j] + y * inv.axes[1][j]);
  const z = parcel("z");
  const zDim = S.spec.decoder.z_dim;
  const k = Math.min(inv.k, S.n);
  const eps2 = inv.eps * inv.eps;
  const best = []; // [d2, i], the k nearest, kept sorted
  for (let i = 0; i < S.n; i++) {
    const d2 = (S.xy[2 * i] - x) ** 2 + (S.xy[2 * i + 1] - y) ** 2;
    if (best.length < k || d2 < best[best.length - 1][0]) {
      best.push([d2, i]);
      best.sort((a, b) => a[0] - b[0]);
      if (best.length > k) best.pop();
    }
  }
  const out = new Array(zDim).fill(0);
  let total = 0;
  for (const [d2, i] of best) {
    const w = 1 / (d2 + eps2);
    total += w;
    for (let j = 0; j < zDim; j++) out[j] += w * z[i * zDim + j];
  }
  return out.map((v) => v / total);
}

function digitProb() {
  if (!S.spec.decoder.conditional) return null;
  const p = new Array(10).fill(0);
  p[S.digit] = 1;
  return p;
}

function showPicture(pixels) {
  for (let i = 0; i < 784; i++) {
    const v = Math.round(255 * pixels[i]);
    tipImage.data[4 * i] = tipImage.data[4 * i + 1] = tipImage.data[4 * i + 2] = v;
    tipImage.data[4 * i + 3] = 255;
  }
  tipCtx.putImageData(tipImage, 0, 0);
}

function decodeAt(x, y) {
  const t0 = performance.now();
  VaeDecoder.decode(parcel("decoder"), zAt(x, y), digitProb(), decoded);
  window.__mapStats.decodeMs += performance.now() - t0;
  window.__mapStats.decodes += 1;
  return decoded;
}

function placeTip(px, py) {
  const tip = $("tip");
  tip.hidden = false;
  const w = tip.offsetWidth;
  const h = tip.offsetHeight;
  const left = px + 16 + w > S.width ? px - 16 - w : px + 16;
  const top = Math.min(Math.max(py - h / 2, 0), S.height - h);
  tip.style.left = `${Math.max(0, left)}px`;
  tip.style.top = `${top}px`;
}

function describePoint(i) {
  const names = S.spec.class_names;
  const label = parcel("labels")[i];
  const guess = parcel("guesses")?.[i];
  const slant = parcel("slant")[i];
  const thick = parcel("thickness")[i];
  const lines = [`test ${S.spec.noun} #${parcel("index")[i]}`, `label: ${names[label]}`];
  if (guess !== undefined && guess < 10) lines.push(`guess: ${names[guess]}${guess === label ? "" : " ✗"}`);
  if (Number.isFinite(slant)) lines.push(`slant ${slant > 0 ? "+" : ""}${slant.toFixed(0)}°, stroke ${thick.toFixed(1)} px`);
  return lines;
}

function hoverAt(px, py) {
  window.__mapStats.hovers += 1;
  const i = nearestPoint(px, py);
  const text = $("tip-text");
  if (i >= 0) {
    S.hover = { kind: "point", i };
    const sheet = parcel("sprites");
    tipCtx.drawImage(sheet, (i % SPRITE_COLUMNS) * CELL, Math.floor(i / SPRITE_COLUMNS) * CELL, CELL, CELL, 0, 0, 28, 28);
    text.innerHTML = describePoint(i).map(escape).join("<br>");
    $("status").textContent = S.spec.pick_text;
    document.body.dataset.hover = `point:${i}`;
  } else if (S.frame >= 0) {
    S.hover = null;
    $("tip").hidden = true;
    $("status").textContent = "Hover a dot to see its picture. (Decoding empty space uses today's decoder: move the slider to the end.)";
    document.body.dataset.hover = "";
    drawOverlay();
    return;
  } else if (!S.spec.decoder.in_browser) {
    const [x, y] = toMap(px, py);
    S.hover = { kind: "space", x, y };
    tipCtx.clearRect(0, 0, 28, 28);
    text.textContent = `(${x.toFixed(2)}, ${y.toFixed(2)})`;
    $("status").textContent = `${S.spec.decoder.why_not} Click to open this spot on the Generate page.`;
  } else {
    const [x, y] = toMap(px, py);
    S.hover = { kind: "space", x, y };
    showPicture(decodeAt(x, y));
    const as = S.spec.decoder.conditional ? ` as “${S.spec.class_names[S.digit]}”` : "";
    text.innerHTML = `decoded here${escape(as)}<br>(${x.toFixed(2)}, ${y.toFixed(2)})`;
    $("status").textContent = S.spec.space_text;
    document.body.dataset.hover = `space:${x.toFixed(3)},${y.toFixed(3)}`;
  }
  window.__mapStats.painted += 1;
  placeTip(px, py);
  drawOverlay();
}

// One hover per animation frame: a fast mouse sends more events than a screen shows.
let queued = null;
function queueHover(px, py) {
  const first = queued === null;
  queued = [px, py];
  if (first) {
    requestAnimationFrame(() => {
      const [x, y] = queued;
      queued = null;
      if (S.ready) hoverAt(x, y);
    });
  }
}

function leave() {
  queued = null;
  S.mouse = null;
  S.hover = null;
  $("tip").hidden = true;
  document.body.dataset.hover = "";
  drawOverlay();
}

function click(px, py) {
  const i = nearestPoint(px, py);
  S.events += 1;
  if (i >= 0) {
    S.lastEvent = { iframe: IFRAME, n: S.events, kind: "pick", index: parcel("index")[i] };
  } else if (S.frame < 0) {
    const [x, y] = toMap(px, py);
    S.lastEvent = { iframe: IFRAME, n: S.events, kind: "generate", z: zAt(x, y), digit: S.digit, xy: [x, y] };
  } else {
    return;
  }
  setValue({});
}

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
  $("epoch").textContent = frame < 0 ? `now (epoch ${S.spec.epoch}, all ${S.n})` : `epoch ${epochs[frame]} of ${S.spec.epoch}`;
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
  $("decode-word").textContent = `Decode as`;
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
