"use strict";
// Drawing the latent map on canvas 2D (no WebGL): map <-> screen coordinates, colours and legend, axes,
// dots or tinted pictures, the prior's circles, a drawn image's posterior ellipses, the hover ring.

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
