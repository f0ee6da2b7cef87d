"use strict";
// The VAE decoder in plain JavaScript, mirrored from vae/model.py (`ConditionalVAE.decode`):
// input = concat(z, digit_prob) (z alone for a plain VAE); every Linear h = W h + b with W (out, in)
// row-major; the config's activation after each hidden layer; a sigmoid after the last -> 784 pixels.
// Weights are float32 (what PyTorch stores); sums run in float64, so we are at least as exact as torch.

const VaeDecoder = (() => {
  // erf by Abramowitz & Stegun 7.1.6: erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)).
  // Every term is positive (no cancellation), so it is accurate to ~1e-15 for all x; past |x| = 6,
  // erf is +-1 to double precision.
  function erf(x) {
    const ax = Math.abs(x);
    if (ax >= 6) return Math.sign(x);
    const x2 = 2 * ax * ax;
    let term = ax;
    let sum = ax;
    for (let n = 1; term > 1e-17 * sum; n++) {
      term *= x2 / (2 * n + 1);
      sum += term;
    }
    const r = (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
    return x < 0 ? -r : r;
  }

  const sigmoid = (v) => 1 / (1 + Math.exp(-v));
  const ACTIVATIONS = {
    sigmoid,
    relu: (v) => (v > 0 ? v : 0),
    tanh: Math.tanh,
    elu: (v) => (v > 0 ? v : Math.expm1(v)), // alpha 1, PyTorch's default
    leaky_relu: (v) => (v > 0 ? v : 0.01 * v), // negative slope 0.01, PyTorch's default
    gelu: (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)), // the exact (erf) form, nn.GELU()
  };

  // Little-endian float32 bytes -> Float32Array (a fresh, aligned copy; DataView on big-endian hosts).
  function float32s(bytes, offset, count) {
    const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    if (littleEndianHost) return new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 4 * count));
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 4 * count);
    return Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, true));
  }

  // spec = {sizes: [in, hidden..., 784], activation}; bytes = W0, b0, W1, b1, ... as float32 LE.
  function load(spec, bytes) {
    const act = ACTIVATIONS[spec.activation];
    if (!act) throw new Error(`unknown activation ${spec.activation}`);
    const sizes = spec.sizes;
    let expected = 0;
    for (let l = 0; l + 1 < sizes.length; l++) expected += sizes[l + 1] * (sizes[l] + 1);
    if (bytes.byteLength !== 4 * expected) throw new Error(`weights: ${bytes.byteLength} bytes, expected ${4 * expected}`);
    const layers = [];
    let offset = 0;
    for (let l = 0; l + 1 < sizes.length; l++) {
      const nIn = sizes[l];
      const nOut = sizes[l + 1];
      const W = float32s(bytes, offset, nOut * nIn);
      offset += 4 * nOut * nIn;
      const b = float32s(bytes, offset, nOut);
      offset += 4 * nOut;
      layers.push({ nIn, nOut, W, b, h: new Float64Array(nOut) });
    }
    return { sizes, act, layers, input: new Float64Array(sizes[0]) };
  }

  // z: numbers (z_dim); prob: 10 numbers or null; out: Float32Array(784). Returns out.
  function decode(model, z, prob, out) {
    const x = model.input;
    x.fill(0);
    for (let i = 0; i < z.length; i++) x[i] = z[i];
    if (prob) for (let i = 0; i < prob.length; i++) x[z.length + i] = prob[i];
    let h = x;
    const last = model.layers.length - 1;
    model.layers.forEach((layer, l) => {
      const { nIn, nOut, W, b } = layer;
      const f = l === last ? sigmoid : model.act;
      for (let o = 0; o < nOut; o++) {
        let s = b[o];
        const row = o * nIn;
        for (let i = 0; i < nIn; i++) s += W[row + i] * h[i];
        layer.h[o] = f(s);
      }
      h = layer.h;
    });
    for (let i = 0; i < out.length; i++) out[i] = h[i];
    return out;
  }

  return { erf, load, decode };
})();
