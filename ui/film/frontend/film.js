"use strict";
// The film of a run: one frame (S styles x C classes) at a time, a slider over the frames and a
// play button, all in the browser. Speaks Streamlit's component protocol (apiVersion 1) by
// postMessage; see ../__init__.py for the Python side and how frames are sent once each.

const GAP = 2; // pixels between pictures, at the frames' own size (scaled with them)
const MAX_SCALE = 3; // the picture grows with its column up to 3x its own size

const S = {
  bitmaps: new Map(), // frame digest -> ImageBitmap (S*H rows, C*W columns): the frames on show
  order: [], // digest of each frame on the slider
  epochs: [], // its epoch
  shape: null, // [styles, classes, height, width]
  index: 0, // the frame on screen
  playing: false,
  timer: null,
  fps: 6,
  seq: null, // `seq` of the last bytes decoded (re-posted args repeat them)
  pending: null, // token of our open request for frames
  asked: 0, // requests since frames last arrived: give up after a few rather than rerun forever
  chain: Promise.resolve(), // renders are applied in order, each after the previous one's decoding
  height: 0,
};
const $ = (id) => document.getElementById(id);
const canvas = $("frame");
const ctx = canvas.getContext("2d");

// Test hooks (read through Playwright's frame API).
window.__draws = 0;
window.__framesReceived = 0;
window.__film = () => ({
  index: S.index,
  epoch: S.epochs[S.index] ?? null,
  frames: S.order.length,
  playing: S.playing,
  draws: window.__draws,
  received: window.__framesReceived,
});

function send(type, data) {
  window.parent.postMessage({ isStreamlitMessage: true, type, ...data }, "*");
}

function requestFrames() {
  if (S.asked >= 3) {
    $("loading").textContent = "The pictures did not arrive from the server: reload the page.";
    return;
  }
  S.asked += 1;
  S.pending = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  send("streamlit:setComponentValue", { value: { need: S.pending }, dataType: "json" });
}

// `bytes` holds the PNG files of `sent` ([digest, length] each) back to back.
async function decode(bytes, sent) {
  let at = 0;
  const parts = sent.map(([digest, length]) => {
    const blob = new Blob([bytes.subarray(at, at + length)], { type: "image/png" });
    at += length;
    return createImageBitmap(blob).then((bitmap) => [digest, bitmap]);
  });
  for (const [digest, bitmap] of await Promise.all(parts)) {
    S.bitmaps.get(digest)?.close(); // a frame sent again (the answer to a request): keep one copy
    S.bitmaps.set(digest, bitmap);
  }
  window.__framesReceived += sent.length;
}

function nearest(epochs, epoch) {
  let best = 0;
  epochs.forEach((e, i) => {
    if (Math.abs(e - epoch) < Math.abs(epochs[best] - epoch)) best = i;
  });
  return best;
}

// New frames on the slider: follow the newest unless the student has moved away from the end.
function setFrames(order, epochs, autoplay) {
  const first = S.epochs.length === 0;
  const atEnd = S.index >= S.epochs.length - 1 && !S.playing;
  const shown = S.epochs[S.index];
  S.order = order;
  S.epochs = epochs;
  const last = epochs.length - 1;
  if (first) S.index = autoplay ? 0 : last;
  else if (atEnd) S.index = last;
  else S.index = nearest(epochs, shown);
  for (const [digest, bitmap] of S.bitmaps) {
    if (!order.includes(digest)) {
      bitmap.close();
      S.bitmaps.delete(digest);
    }
  }
  const scrub = $("scrub");
  scrub.max = last;
  scrub.disabled = last === 0;
  $("play").disabled = last === 0;
  $("first").textContent = `epoch ${epochs[0]}`;
  $("last").textContent = last > 0 ? `epoch ${epochs[last]}` : "";
  if (first && autoplay && last > 0) play();
  else if (S.playing && S.index === last) pause();
}

function layout() {
  const [styles, classes, h, w] = S.shape;
  const width = classes * (w + GAP) + GAP;
  const height = styles * (h + GAP) + GAP;
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  $("picture").style.maxWidth = `${MAX_SCALE * width}px`;
  // Label columns centred over the picture columns: padding of half a gap on each side.
  const pad = `${(100 * GAP) / 2 / width}%`;
  $("labels").style.padding = `0 ${pad}`;
  $("labels").style.gridTemplateColumns = `repeat(${classes}, 1fr)`;
}

function draw() {
  const bitmap = S.bitmaps.get(S.order[S.index]);
  if (!bitmap) return;
  const [styles, classes, h, w] = S.shape;
  ctx.fillStyle = getComputedStyle(document.documentElement).getPropertyValue("--bg");
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (let s = 0; s < styles; s++) {
    for (let c = 0; c < classes; c++) {
      ctx.drawImage(bitmap, c * w, s * h, w, h, GAP + c * (w + GAP), GAP + s * (h + GAP), w, h);
    }
  }
  const last = S.epochs.length - 1;
  $("epoch").textContent = `Epoch ${S.epochs[S.index]}`;
  $("latest").hidden = S.index !== last || last === 0;
  $("scrub").value = S.index;
  $("scrub").setAttribute("aria-valuetext", `epoch ${S.epochs[S.index]}`);
  window.__draws += 1;
  document.body.dataset.epoch = S.epochs[S.index];
}

function play() {
  if (S.index >= S.epochs.length - 1) S.index = 0; // ▶ at the last frame starts over
  S.playing = true;
  $("play").textContent = "⏸ Pause";
  $("play").setAttribute("aria-label", "pause");
  clearInterval(S.timer);
  S.timer = setInterval(() => {
    if (S.index < S.epochs.length - 1) S.index += 1;
    if (S.index >= S.epochs.length - 1) pause(); // stop on the last frame: the run's best picture
    draw();
  }, 1000 / S.fps);
  draw();
}

function pause() {
  S.playing = false;
  clearInterval(S.timer);
  $("play").textContent = "▶ Play";
  $("play").setAttribute("aria-label", "play");
}

function showLabels(labels) {
  const names = labels ?? [];
  const box = $("labels");
  if (box.dataset.names === JSON.stringify(names)) return;
  box.dataset.names = JSON.stringify(names);
  // "T-shirt/top" may break after its slash in a narrow column
  box.replaceChildren(
    ...names.map((name) => {
      const el = document.createElement("span");
      el.textContent = name.replaceAll("/", "/\u200b");
      return el;
    }),
  );
  box.hidden = names.length === 0;
}

// Labels as large as their columns allow (16 px down to 9 px) without breaking a word; in columns
// too narrow even for that ("Pullover" over 27-pixel pictures) words may break anywhere.
const measure = document.createElement("canvas").getContext("2d");
function fitLabels() {
  const box = $("labels");
  const names = JSON.parse(box.dataset.names || "[]");
  if (!names.length) return;
  const column = box.clientWidth / names.length - 4;
  const words = names.flatMap((name) => name.split(/[ /]/));
  const family = getComputedStyle(box).fontFamily;
  let size = 16;
  const widest = () => {
    measure.font = `${size}px ${family}`;
    return Math.max(...words.map((w) => measure.measureText(w).width));
  };
  while (size > 9 && widest() > column) size -= 1;
  box.style.fontSize = `${size}px`;
  box.classList.toggle("squeezed", widest() > column);
}

async function apply(args) {
  S.fps = args.fps;
  S.shape = args.shape;
  layout();
  showLabels(args.labels);
  fitLabels();
  $("caption").textContent = args.caption || "";
  if (args.frames && args.seq !== S.seq) {
    S.seq = args.seq;
    S.pending = null;
    try {
      await decode(args.frames, args.sent);
      S.asked = 0;
    } catch (err) {
      S.asked = 3; // the same bytes would come again: do not ask
      $("loading").textContent = `Could not read the pictures: ${err.message}`;
    }
  }
  if (args.order.every((digest) => S.bitmaps.has(digest))) {
    setFrames(args.order, args.epochs, args.autoplay);
    $("loading").hidden = true;
    draw();
  } else if (S.pending === null || args.served === S.pending) {
    requestFrames(); // a fresh iframe, or a lost message: keep showing what we have meanwhile
  }
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
  if (h !== S.height) {
    S.height = h;
    send("streamlit:setFrameHeight", { height: h });
  }
}

$("scrub").addEventListener("input", () => {
  pause();
  S.index = Number($("scrub").value);
  draw();
});
$("play").addEventListener("click", () => (S.playing ? pause() : play()));
new ResizeObserver(resize).observe($("root"));
window.addEventListener("resize", fitLabels);
window.addEventListener("message", (event) => {
  if (event.data?.type === "streamlit:render") onRender(event.data.args, event.data.theme);
});
send("streamlit:componentReady", { apiVersion: 1 });
