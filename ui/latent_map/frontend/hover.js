"use strict";
// Hover and click: a dot's own picture beside the cursor, or what the decoder (decoder.js, the Generate
// page's) draws at the z under it; one hover per animation frame; clicks go to Python as events.

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
