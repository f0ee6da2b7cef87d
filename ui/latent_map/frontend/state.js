"use strict";
// The latent map's state, shared by the other scripts of this folder (plain scripts, loaded in order by
// index.html: state.js, draw.js, hover.js, map.js), and its parts: typed arrays, the sprite sheet and the
// decoder, sent by ../__init__.py once each and kept here by content digest.

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
