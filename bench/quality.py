"""How good are the shipped models? Judged conditional accuracy, ELBO, IWAE and classifier, as tables.

Run: `.venv/bin/python -m bench.quality` (about 2 minutes on 2 cores, one torch thread). For each
shipped model (`checkpoints/seed-mnist.pt` on the offline MNIST subset, `seed-fashion-mnist.pt` on
Fashion-MNIST) it prints, as Markdown for BENCHMARKS.md:
- `vae.evaluate.evaluate` with both judges of `vae.judge.judges_for`: test ELBO, IWAE (k = 50),
  the VAE classifier's test accuracy, conditional accuracy over 5 z seeds x 200 images per class
  (mean, sample std and min-max over seeds; the stricter verdict and each judge alone; per class),
  and the judges' own accuracy on the real test images beside it;
- conditional accuracy at temperatures 0.5, 0.8 and 1.0 (z ~ N(0, t^2 I));
- how the judges' verdicts compare on blobs (pixel averages of two real test images of different
  classes) and on real test images: how often each names one of the two classes, and with
  confidence >= 0.9, and how often both do.
"""

from __future__ import annotations

import time

import torch

from bench.judge_choice import CONFIDENT, blobs, probabilities
from vae.checkpoint import load_checkpoint
from vae.data import load_dataset
from vae.evaluate import evaluate
from vae.judge import judges_for
from vae.judging import conditional_accuracy

MODELS = (("mnist", "checkpoints/seed-mnist.pt"), ("fashion-mnist", "checkpoints/seed-fashion-mnist.pt"))
TEMPERATURES = (0.5, 0.8, 1.0)


def pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}"


def spread(s: dict) -> str:
    """'89.7 ± 0.9 (88.5–91.0)': the mean over z seeds, its sample std, min–max."""
    return f"{pct(s['overall'])} ± {pct(s['std'])} ({pct(s['min'])}–{pct(s['max'])})"


def model_table(name: str, path: str, r: dict, seconds: float) -> None:
    gen, real = r["conditional_accuracy"], r["judge_accuracy_on_test_images"]
    print(f"\n### `{path}` ({r['source']}, {r['n_test']:,} test images; evaluate took {seconds:.0f} s)\n")
    print(
        f"test ELBO {r['elbo']:.1f}, IWAE (k = {r['iwae_k']}) {r['iwae']:.1f} nats per image; "
        f"VAE classifier on the test split {pct(r['classifier_accuracy'])} %; the judges name the same "
        f"class for {pct(gen['agreement'])} % of generated and {pct(real['agreement'])} % of real images\n"
    )
    print("| judged by | generated: mean ± std (min–max) over 5 z seeds | real test images |")
    print("|---|---|---|")
    rows = [("both (stricter)", gen, real)] + [(j, gen["judges"][j], real["judges"][j]) for j in gen["judges"]]
    for label, g, t in rows:
        print(f"| {label} | {spread(g)} % | {pct(t['overall'])} % |")
    print("\n| class, % | " + " | ".join(str(d) for d in range(10)) + " |")
    print("|---" * 11 + "|")
    for label, g, t in rows:
        print(f"| {label}, generated | " + " | ".join(pct(v, 0) for v in g["per_digit"]) + " |")
        print(f"| {label}, real | " + " | ".join(pct(v, 0) for v in t["per_digit"]) + " |")
    print(
        "| both, generated, min–max over seeds | "
        + " | ".join(
            f"{pct(a, 0)}–{pct(b, 0)}" for a, b in zip(gen["per_digit_min"], gen["per_digit_max"], strict=True)
        )
        + " |"
    )


def temperature_table(model, judges: dict) -> None:
    print("\n| temperature | both (stricter) | cnn | knn | both, per class |")
    print("|---|---|---|---|---|")
    for t in TEMPERATURES:
        s = conditional_accuracy(model, judges, temperature=t)
        print(
            f"| {t} | {spread(s)} | {pct(s['judges']['cnn']['overall'])} | {pct(s['judges']['knn']['overall'])} | "
            + " ".join(pct(v, 0) for v in s["per_digit"])
            + " |"
        )


def blob_table(data, judges: dict) -> None:
    """How often each judge (and both together) names one of a blob's two classes, and confidently."""
    blob_x, a, b = blobs(data, 2000, torch.Generator().manual_seed(1))
    print(f"\n{len(blob_x):,} blobs and {len(data.test_y):,} real test images:\n")
    print("| judged by | blobs: names one of the two | …with confidence ≥ 0.9 | real: right | …with confidence ≥ 0.9 |")
    print("|---|---|---|---|---|")
    rows = {}
    for label, judge in judges.items():
        conf, said = probabilities(judge, blob_x).max(1)  # (n,) each
        named = (said == a) | (said == b)
        real_conf, real_said = probabilities(judge, data.test_x).max(1)
        right = real_said == data.test_y
        rows[label] = (said, named, named & (conf >= CONFIDENT), right, right & (real_conf >= CONFIDENT))
    (said_1, *cols_1), (said_2, *cols_2) = rows["cnn"], rows["knn"]
    same = said_1 == said_2  # on a blob, both must name the same one of the two classes
    rows["both, the same class"] = (
        None,
        cols_1[0] & cols_2[0] & same,
        cols_1[1] & cols_2[1] & same,
        cols_1[2] & cols_2[2],
        cols_1[3] & cols_2[3],
    )
    for label, (_, *cols) in rows.items():
        print(f"| {label} | " + " | ".join(f"{pct(c.double().mean().item())} %" for c in cols) + " |")


def main() -> None:
    torch.set_num_threads(1)
    for name, path in MODELS:
        data = load_dataset(name, "data", download=False)
        model = load_checkpoint(path).model
        start = time.perf_counter()
        judges = judges_for(data, "checkpoints")
        report = evaluate(model, data, judge=judges)
        model_table(name, path, report, time.perf_counter() - start)
        temperature_table(model, judges)
        blob_table(data, judges)


if __name__ == "__main__":
    main()
