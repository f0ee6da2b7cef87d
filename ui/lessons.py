"""The lesson kit's questions on the Compare page, each answered in two sentences whose numbers are
read from the models on show (their scores on the same test images, their curves, their rows of the
same z): what the sentences say is measured now, not written down once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ui.compare import KIT_PREFIX, Entry
from ui.words import words
from vae import compare
from vae.kit import QUESTIONS

SAME_Z_HELP = (
    "Each column is one random z, the same numbers for every model (a model with a smaller z_dim reads "
    "the first of them). So a difference between two rows is a difference between the models, not luck."
)
_BY_KEY = {q.key: q for q in QUESTIONS}


def available(options: Sequence[str]) -> dict[str, list[str]]:
    """The kit's questions whose models are all on this server: {key: their picker values}."""
    out = {}
    for q in QUESTIONS:
        values = [KIT_PREFIX + name for name in q.models]
        if all(v in options for v in values):
            out[q.key] = values
    return out


def title(key: str) -> str:
    return _BY_KEY[key].title


def question_of(picked: Sequence[str], questions: Mapping[str, list[str]]) -> str | None:
    """The question whose models are exactly `picked` (in any order), if any."""
    return next((k for k, models in questions.items() if sorted(models) == sorted(picked)), None)


def explain(key: str | None, items: Sequence[Entry], rows: Sequence[np.ndarray], digit: int) -> str:
    """Markdown: the question in bold and two measured sentences; for models picked by hand, which fits
    the test images best and which uses z most."""
    measured = [e for e in items if e.scores is not None]
    by_kit = {e.choice[len(KIT_PREFIX) :]: e for e in measured if e.choice.startswith(KIT_PREFIX)}
    spread = {e.choice: compare.variation(r) for e, r in zip(items, rows, strict=True)}
    q = _BY_KEY.get(key) if key is not None else None
    if q is not None and all(name in by_kit for name in q.models):
        vocab = words(measured[0].run.dataset_name)
        text = _ANSWERS[q.key]([by_kit[name] for name in q.models], spread, vocab.names[digit], vocab.kind)
        return f"**{q.title}** {text}"
    return _generic(measured)


def _generic(measured: Sequence[Entry]) -> str:
    if len(measured) < 2:
        return "Pick another model in the sidebar to compare with, or one of the questions."
    if len({e.run.dataset_name for e in measured}) > 1:  # each scored on its own test images: no "best"
        return (
            "These models were trained on different data, so each is scored on its own test images and no "
            "one of them fits better than another. Compare their curves' shapes, and each model's table row "
            "with a model of its own data."
        )
    best = max(measured, key=lambda e: e.scores["elbo"])
    most = max(measured, key=lambda e: e.scores["kl"])
    least = min(measured, key=lambda e: e.scores["kl"])
    return (
        f"On the same test images, **{best.name}** fits best (ELBO {best.scores['elbo']:.1f} nats, higher is "
        f"better). **{most.name}** puts the most into z (KL {most.scores['kl']:.1f} nats), **{least.name}** "
        f"the least ({least.scores['kl']:.1f})."
    )


def _times(a: float, b: float) -> str:
    """How many times a is b, or b is a, in words: "3x less", "2x more"."""
    if a <= 0 or b <= 0:
        return "no more"
    return f"{a / b:.1f}x more" if a >= b else f"{b / a:.1f}x less"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _beta(models: list[Entry], spread: dict, thing: str, kind: str) -> str:
    lo, hi = min(models, key=lambda e: e.run.config.beta), max(models, key=lambda e: e.run.config.beta)
    s, t, b, a = lo.scores, hi.scores, f"β {lo.run.config.beta:g}", f"β {hi.run.config.beta:g}"
    judged = None not in (t["conditional"], s["conditional"])
    asked = (  # the judged share over all ten classes, not only the one in the rows
        f"Asked for any {kind}, it draws the one asked for {_pct(t['conditional'])} of the time ({b}: "
        f"{_pct(s['conditional'])}) but"
    )
    return (
        f"At {a} the encoder puts {t['kl']:.1f} nats into z ({b}: {s['kl']:.1f}): {t['collapsed']} of its "
        f"{hi.run.config.z_dim} dimensions go unused and its six {thing}s vary "
        f"{_times(spread[hi.choice], spread[lo.choice])}. {asked if judged else 'It'} reconstructs "
        f"{_worse(t['recon'], s['recon'])}: {t['recon']:.0f} nats of error against {s['recon']:.0f}."
    )


def _worse(error: float, other: float) -> str:
    return "worse" if error > other else "better"


def _zdim(models: list[Entry], spread: dict, thing: str, kind: str) -> str:
    two, ten = models
    _, _, share = compare.latent_map(ten.scores["mu"])
    s, t, n, m = two.scores, ten.scores, two.run.config.z_dim, ten.run.config.z_dim
    return (
        f"{n} numbers carry {s['kl']:.1f} nats about an image, {m} carry {t['kl']:.1f}, so z_dim {n} reconstructs "
        f"{_worse(s['recon'], t['recon'])} ({s['recon']:.0f} against {t['recon']:.0f} nats of error). But its "
        f"map is z itself, nothing hidden, while a PCA map of the {m} shows {share:.0%} of their spread."
    )


def _classifier(models: list[Entry], spread: dict, thing: str, kind: str) -> str:
    plain, cond = models
    p, c = plain.scores, cond.scores
    held = "so z needn't" if p["kl"] > c["kl"] else "yet z holds no less"
    drawn = (
        f" (any {kind}: it draws the one asked for {_pct(c['conditional'])} of the time)"
        if c["conditional"] is not None
        else ""
    )
    return (
        f"It tells the decoder which digit it sees ({_pct(c['acc'])} right on test digits), {held}: the plain VAE "
        f"puts {p['kl']:.1f} nats into z, the conditional one {c['kl']:.1f}. Only the conditional one can be "
        f"asked for a {thing}{drawn}; the plain VAE's row draws whatever digit each z holds."
    )


def _learning_rate(models: list[Entry], spread: dict, thing: str, kind: str) -> str:
    fast, ok = models
    f, o = fast.scores, ok.scores
    lr, usual = fast.run.config.learning_rate, ok.run.config.learning_rate
    if fast.run.error:
        what = f"the NaN guard stopped it after epoch {fast.run.epoch}"
    else:
        what = (
            f"no NaN stopped it in {fast.run.epoch} epochs, but its test loss jumps "
            f"{_times(_jumps(fast), _jumps(ok))} from epoch to epoch"
        )
    vary = _times(spread[fast.choice], spread[ok.choice])
    asked = (
        f"asked for any {kind}, it draws the one asked for {_pct(f['conditional'])} of the time, but "
        if f["conditional"]
        else ""
    )
    return (
        f"At a learning rate of {lr:g}, {lr / usual:.0f}x the usual {usual:g}, {what}. It settled with z "
        f"{_used(f['kl'], o['kl'])} ({f['kl']:.1f} nats against {o['kl']:.1f}): {asked}its six {thing}s vary {vary}, "
        f"and its classifier is right on {_pct(f['acc'])} of test digits, not {_pct(o['acc'])}."
    )


def _used(kl: float, other: float) -> str:
    return "nearly unused" if kl < other / 2 else "used less" if kl < other else "used as much or more"


def _jumps(e: Entry) -> float:
    """The median change of the test loss from one epoch to the next, over the second half of the run."""
    loss = np.asarray([m["test_loss"] for m in e.run.epoch_metrics if "test_loss" in m], np.float64)
    tail = loss[len(loss) // 2 :]
    return float(np.median(np.abs(np.diff(tail)))) if len(tail) > 1 else float("nan")


_ANSWERS = {"beta": _beta, "zdim": _zdim, "classifier": _classifier, "lr": _learning_rate}
