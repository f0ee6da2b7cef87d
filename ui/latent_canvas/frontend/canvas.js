"use strict";
// Latent sliders + digit mix + a 280x280 canvas, decoded in the browser on every input event.
// Speaks Streamlit's component protocol (apiVersion 1) by postMessage; see ../__init__.py for the
// Python side and how weights are cached per `weights_key`.

const S = {
  cache: new Map(), // weights_key -> loaded decoder (a few, most recent last)
  model: null,
  spec: null,
  shape: "", // what the sliders were built for
  nonce: null, // the `start` values we applied last
  pending: null, // token of our open request for weights
  asked: 0, // requests since weights last arrived: give up after a few rather than rerun forever
  seq: null, // `weights_seq` of the last bytes we loaded (re-posted args repeat them)
  z: [],
  digitA: 0,
  digitB: 0,
  mix: 0,
  pixels: new Float32Array(784),
  height: 0,
};
const $ = (id) => document.getElementById(id);
const ctx = $("digit").getContext("2d");
const image = ctx.createImageData(28, 28);

// Test and benchmark hooks (read through Playwright's frame API).
window.__lastPixels = S.pixels;
window.__renderCount = 0;
window.__decodeMs = { total: 0, count: 0 };
window.__weightsReceived = 0;

function send(type, data) {
  window.parent.postMessage({ isStreamlitMessage: true, type, ...data }, "*");
}

function values(extra) {
  const v = { z: S.z.slice(), digit_a: S.digitA, digit_b: S.digitB, mix: S.mix, nonce: S.nonce };
  return { ...v, need: null, need_key: null, ...extra };
}

// Drag ended / digit clicked: tell Python (this triggers one rerun of the page).
function sync() {
  send("streamlit:setComponentValue", { value: values(), dataType: "json" });
}

function requestWeights(key) {
  if (S.asked >= 3) {
    $("loading").textContent = "The decoder did not arrive from the server: reload the page.";
    return;
  }
  S.asked += 1;
  S.pending = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  send("streamlit:setComponentValue", { value: values({ need: S.pending, need_key: key }), dataType: "json" });
}

function digitProb() {
  if (!S.spec.conditional) return null;
  const p = new Array(10).fill(0);
  p[S.digitA] += 1 - S.mix;
  p[S.digitB] += S.mix;
  return p;
}

// The one path from state to picture: the sliders, the tests and the benchmark all go through it.
function draw() {
  if (!S.model) return;
  const t0 = performance.now();
  VaeDecoder.decode(S.model, S.z, digitProb(), S.pixels);
  const ms = performance.now() - t0;
  window.__decodeMs.total += ms;
  window.__decodeMs.count += 1;
  for (let i = 0; i < 784; i++) {
    const v = Math.round(255 * S.pixels[i]);
    image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = v;
    image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  window.__renderCount += 1;
  document.body.dataset.renderCount = window.__renderCount;
  $("timing").textContent = `Decoded in your browser in ${ms.toFixed(2)} ms.`;
}

function showDigits() {
  const names = S.spec.class_names;
  for (const [row, chosen] of [["digit-a", S.digitA], ["digit-b", S.digitB]]) {
    $(row).querySelectorAll("button").forEach((b, i) => b.classList.toggle("on", i === chosen));
  }
  $("mix").value = S.mix;
  const parts = [[S.digitA, 1 - S.mix], [S.digitB, S.mix]].filter(([, w]) => w > 0);
  const merged = S.digitA === S.digitB ? [[S.digitA, 1]] : parts;
  const text = merged.map(([d, w]) => `${Math.round(100 * w)}% “${names[d]}”`).join(" + ");
  $("prob").textContent = `The decoder is told: ${text}`;
}

function showZ(i) {
  const row = $("sliders").children[i];
  row.querySelector("input").value = Math.max(-S.spec.z_range, Math.min(S.spec.z_range, S.z[i]));
  row.querySelector("output").textContent = S.z[i].toFixed(2);
}

function build(args) {
  const spec = args.spec;
  const sliders = $("sliders");
  sliders.replaceChildren();
  for (let i = 0; i < spec.z_dim; i++) {
    const row = document.createElement("label");
    row.className = "zrow";
    row.innerHTML = `<span class="name"></span><input type="range" step="0.01"><output></output>`;
    const input = row.querySelector("input");
    input.min = -spec.z_range;
    input.max = spec.z_range;
    input.dataset.index = i;
    input.addEventListener("input", () => {
      S.z[i] = parseFloat(input.value);
      row.querySelector("output").textContent = S.z[i].toFixed(2);
      draw();
    });
    input.addEventListener("change", sync);
    sliders.appendChild(row);
  }
  // Many dimensions: sliders get the full width below the picture, in columns.
  (spec.z_dim > 12 ? $("below") : $("controls")).appendChild($("zblock"));
  $("digits").hidden = !spec.conditional;
  $("word-a").textContent = spec.class_word;
  for (const [row, set] of [["digit-a", (d) => (S.digitA = d)], ["digit-b", (d) => (S.digitB = d)]]) {
    $(row).replaceChildren(
      ...spec.class_names.map((name, d) => {
        const b = document.createElement("button");
        b.textContent = name;
        b.addEventListener("click", () => {
          set(d);
          showDigits();
          draw();
          sync();
        });
        return b;
      }),
    );
  }
}

function applyStart(start, zDim) {
  S.z = Array.from({ length: zDim }, (_, i) => Number(start.z[i] ?? 0));
  S.digitA = start.digit_a;
  S.digitB = start.digit_b;
  S.mix = start.mix;
}

function onRender(args, theme) {
  if (theme) {
    const st = document.documentElement.style;
    st.setProperty("--primary", theme.primaryColor);
    st.setProperty("--text", theme.textColor);
    st.setProperty("--bg", theme.backgroundColor);
    if (theme.font) st.setProperty("--font", theme.font);
  }
  const spec = args.spec;
  const key = spec.weights_key;
  S.spec = spec;
  if (args.weights && args.weights_seq !== S.seq) {
    window.__weightsReceived += 1;
    S.seq = args.weights_seq;
    S.pending = null;
    try {
      S.cache.delete(key);
      S.cache.set(key, VaeDecoder.load(spec, args.weights));
      S.asked = 0;
      while (S.cache.size > 4) S.cache.delete(S.cache.keys().next().value);
    } catch (err) {
      S.asked = 3; // the same bytes would come again: do not ask
      $("loading").textContent = `Could not read the decoder: ${err.message}`;
    }
  }
  S.model = S.cache.get(key) ?? null;
  const shape = JSON.stringify([spec.z_dim, spec.conditional, spec.class_names, spec.z_range]);
  if (shape !== S.shape) {
    build(args);
    S.shape = shape;
  }
  if (args.nonce !== S.nonce || S.z.length !== spec.z_dim) {
    applyStart(args.start, spec.z_dim);
    S.nonce = args.nonce;
  }
  const names = [...$("sliders").querySelectorAll(".name")];
  names.forEach((el, i) => (el.textContent = args.labels[i]));
  // One name column for all rows, as wide as the longest label ("z5 · KL 0.00 (unused)"), 96 to 180 px.
  $("sliders").style.removeProperty("--name-width");
  const widest = Math.max(0, ...names.map((el) => el.scrollWidth));
  $("sliders").style.setProperty("--name-width", `${Math.min(180, Math.max(96, widest))}px`);
  S.z.forEach((_, i) => showZ(i));
  showDigits();
  document.body.dataset.weightsKey = S.model ? key : "";
  $("loading").hidden = Boolean(S.model);
  if (S.model) draw();
  // No weights for this key (a fresh iframe, or the message was lost): ask once per answer.
  else if (S.pending === null || args.served === S.pending) requestWeights(key);
  resize();
}

function resize() {
  const h = Math.ceil(document.getElementById("root").getBoundingClientRect().height) + 8;
  if (h !== S.height) {
    S.height = h;
    send("streamlit:setFrameHeight", { height: h });
  }
}

$("mix").addEventListener("input", () => {
  S.mix = parseFloat($("mix").value);
  showDigits();
  draw();
});
$("mix").addEventListener("change", sync);
new ResizeObserver(resize).observe($("root"));
window.addEventListener("message", (event) => {
  if (event.data?.type === "streamlit:render") onRender(event.data.args, event.data.theme);
});

window.__decode = (z, prob) => Array.from(VaeDecoder.decode(S.model, z, prob, new Float32Array(784)));
window.__setInputs = (v) => {
  if (v.z) v.z.forEach((x, i) => ((S.z[i] = x), showZ(i)));
  if (v.digit_a !== undefined) S.digitA = v.digit_a;
  if (v.digit_b !== undefined) S.digitB = v.digit_b;
  if (v.mix !== undefined) S.mix = v.mix;
  showDigits();
  draw();
  return Array.from(S.pixels);
};
window.__canvasPixels = () => Array.from(ctx.getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0));
window.__state = () => values();

send("streamlit:componentReady", { apiVersion: 1 });
