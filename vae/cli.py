"""`python -m vae ...`: info, train, evaluate, sample, list, data, kit.

Errors (a bad path, a corrupt file, a bad value) print one line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import tempfile
import time
from pathlib import Path

from vae import memory
from vae.checkpoint import CheckpointError, check_writable, list_checkpoints, load_checkpoint, save_checkpoint
from vae.config import DATASETS, OFFLINE_EPOCHS, PRESETS, offline_recipe, preset
from vae.data import TUTORIAL_TRAIN_IMAGES, DatasetError, load_dataset
from vae.device import resolve_device
from vae.run import RunState

DEFAULT_DIR = Path("checkpoints")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vae", description="Train and inspect conditional VAEs.")
    sub = p.add_subparsers(dest="command", required=True)

    info = sub.add_parser("info", help="print a preset's config")
    info.add_argument("--preset", default="seed", choices=list(PRESETS))
    info.add_argument("--json", action="store_true", help="print JSON")

    train = sub.add_parser("train", help="train a model and write a checkpoint")
    train.add_argument("--preset", default="seed", choices=list(PRESETS))
    train.add_argument("--dataset", choices=DATASETS, help="default: the preset's (mnist)")
    train.add_argument("--data-dir", default="data", help="where MNIST is read from / downloaded to")
    train.add_argument("--epochs", type=int)
    train.add_argument("--seed", type=int)
    train.add_argument("--z-dim", type=int)
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--augment", type=float, help="strength of random warps of the training images (0: none)")
    train.add_argument("--elastic", type=float, help="elastic distortion of the warps, in pixels at strength 1")
    train.add_argument("--kl-start", type=float, help="the KL weight at the first step, ramped to beta over --kl-ramp")
    train.add_argument("--kl-ramp", type=int, help="epochs of the KL weight's ramp (0: beta throughout)")
    train.add_argument("--out", type=Path, help="checkpoint file (default: checkpoints/<preset>-<dataset>.pt)")
    train.add_argument("--resume", type=Path, help="continue from this checkpoint (its config; --epochs may extend it)")
    train.add_argument("--overwrite", action="store_true", help="replace --out if it exists (resuming into it may)")
    train.add_argument(
        "--slim", action="store_true", help="no optimizer state, thinned logs: a small file to ship in the repo"
    )
    train.add_argument("--device", help="cpu, cuda, mps (default: the best available)")

    ev = sub.add_parser("evaluate", help="test ELBO, IWAE, classifier and conditional accuracy")
    ev.add_argument("path", type=Path)
    ev.add_argument("--data-dir", default="data")
    ev.add_argument("--k", type=int, default=50, help="importance samples for the IWAE estimate")
    ev.add_argument("--seeds", type=int, default=5, help="z seeds for conditional accuracy (its spread is over these)")
    ev.add_argument("--n-per-class", type=int, default=200, help="images generated per class and z seed")
    ev.add_argument("--temperature", type=float, default=1.0, help="z ~ N(0, t^2 I) for conditional accuracy")
    ev.add_argument("--json", action="store_true")

    sample = sub.add_parser("sample", help="write a PNG grid of generated digits")
    sample.add_argument("path", type=Path)
    sample.add_argument("--digit", type=int, help="0..9 (conditional models)")
    sample.add_argument("--n", type=int, default=25)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", type=Path, required=True)

    ls = sub.add_parser("list", help="list checkpoints")
    ls.add_argument("directory", type=Path, nargs="?", default=DEFAULT_DIR)

    data = sub.add_parser(
        "data", help="download a dataset into --data-dir, where the app reads it (it never downloads)"
    )
    data.add_argument("--dataset", default="mnist", choices=DATASETS)
    data.add_argument("--data-dir", default="data")

    kit = sub.add_parser("kit", help="train the lesson kit: small models that answer a class's questions")
    kit.add_argument("--out", type=Path, default=DEFAULT_DIR / "kit", help="folder (default: checkpoints/kit)")
    kit.add_argument("--only", action="append", metavar="NAME", help="train only this kit model (repeatable)")
    kit.add_argument("--epochs", type=int, help="instead of the kit's 100 (a quick try; the command says so)")
    kit.add_argument("--overwrite", action="store_true", help="replace kit files that exist")
    kit.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    return p


def cmd_info(args: argparse.Namespace) -> None:
    config = preset(args.preset).to_dict()
    if args.json:
        print(json.dumps(config, indent=2))
    else:
        for k, v in config.items():
            print(f"{k:>22}: {v}")


def cmd_train(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from vae.trainer import Trainer

    resume = load_checkpoint(args.resume) if args.resume else None
    config = resume.config if resume else preset(args.preset)
    overrides = {
        "dataset": args.dataset,
        "epochs": args.epochs,
        "seed": args.seed,
        "z_dim": args.z_dim,
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "augment": args.augment,
        "elastic": args.elastic,
        "kl_start": args.kl_start,
        "kl_ramp": args.kl_ramp,
    }
    config = config.replace(**{k: v for k, v in overrides.items() if v is not None})
    if resume is not None and config.model != resume.config.model:
        changed = [k for k, v in vars(config.model).items() if getattr(resume.config, k) != v]
        raise ValueError(
            f"--{changed[0].replace('_', '-')} {getattr(config, changed[0])} cannot resume {args.resume}: its model "
            f"was built with {changed[0]} {getattr(resume.config, changed[0])}. Leave --{changed[0].replace('_', '-')} out, "
            "or train a new model "
            "without --resume."
        )
    out = args.out or args.resume or DEFAULT_DIR / f"{args.preset}-{config.dataset}.pt"
    if out.exists() and not args.overwrite and out != args.resume:
        raise CheckpointError(
            f"{out} exists already (maybe a shipped model): choose another --out, or add --overwrite."
        )
    check_writable(out)  # now, not after the training whose result it would lose
    device = resolve_device(args.device)  # before the data: a typo should not wait for a download
    dataset = load_dataset(config.dataset, args.data_dir)
    memory.check_fits(config, len(dataset.train_y), device)
    if dataset.notice:
        print(f"note: {dataset.notice}", file=sys.stderr)
        n, tutorial_epochs = len(dataset.train_y), preset("seed").epochs
        if config.epochs < OFFLINE_EPOCHS and config.kl_ramp == 0:
            app = offline_recipe(config)
            print(
                f"note: {config.epochs} epoch{'s' * (config.epochs != 1)} of these {n:,} images show the model "
                f"{config.epochs * n:,}; the tutorial's {tutorial_epochs} epochs of full MNIST "
                f"showed it {tutorial_epochs * TUTORIAL_TRAIN_IMAGES:,}. For a model that draws the digit asked for, "
                f"train as the app does here: --epochs {app.epochs} --kl-start {app.kl_start:g} --kl-ramp {app.kl_ramp}.",
                file=sys.stderr,
            )
    judge = None
    if config.conditional:  # the history charts how often it draws the digit asked for, as a live run's does
        from vae.judge import judge_path, kept_judge

        judge = kept_judge(dataset, DEFAULT_DIR)
        if judge is None:
            print(
                f"note: no judge kept at {judge_path(dataset, DEFAULT_DIR)} (`python -m vae evaluate` trains one), "
                "so this run's history will not show how often it draws the digit asked for.",
                file=sys.stderr,
            )
    command = "python -m vae " + shlex.join(sys.argv[1:])
    trainer = Trainer(config, dataset, device=device, resume=resume, command=command, judge=judge)
    bar = tqdm(total=config.epochs * trainer.steps_per_epoch, initial=trainer.step, unit="step", dynamic_ncols=True)

    def on_step(t: Trainer) -> None:
        # refresh=False: tqdm redraws at most every 0.1 s by itself; a refresh per step wrote a line
        # per step to a log file and slowed training down.
        bar.set_description(f"epoch {t.epoch + 1}/{config.epochs}", refresh=False)
        bar.update(t.step - bar.n)

    def on_epoch(t: Trainer) -> None:
        m = t.view.epoch_metrics[-1]
        bar.write(
            f"epoch {m['epoch']:>3}  train loss {m['train_loss']:9.2f}  test loss {m['test_loss']:9.2f}  "
            f"recon {m['test_recon']:8.2f}  kl {m['test_kl']:6.2f}  class acc {m['test_acc']:.3f}"
            + (f"  draws the digit asked for {m['judged_acc']:.2f}" if "judged_acc" in m else "")
        )

    trainer.add_callback("on_step_end", on_step)
    trainer.add_callback("on_epoch_end", on_epoch)
    trainer.run()  # Ctrl-C stops it (see Trainer.run): what it has learnt is saved all the same
    bar.close()
    path = _save_or_rescue(out, trainer.to_checkpoint(), args.slim)
    if trainer.state is RunState.FAILED:
        raise SystemExit(f"error: {trainer.error} (the last good weights were saved to {path})")
    print(f"saved {path} after {trainer.epoch} epochs ({trainer.step} steps) on {dataset.source}")


def _save_or_rescue(out: Path, ckpt, slim: bool) -> Path:
    """Save the finished run to `out`; if that fails now (the disk filled up during training, say),
    save it in the system's temporary folder rather than lose it, and say where."""
    try:
        return save_checkpoint(out, ckpt, slim=slim)
    except CheckpointError as exc:
        rescue = Path(tempfile.gettempdir()) / f"{out.stem}-rescued-{time.strftime('%Y%m%d-%H%M%S')}{out.suffix}"
        try:
            save_checkpoint(rescue, ckpt, slim=slim)
        except CheckpointError:
            raise exc from None
        print(f"warning: {exc} The run was saved to {rescue} instead: move it where you want it.", file=sys.stderr)
        return rescue


def cmd_evaluate(args: argparse.Namespace) -> None:
    from vae.evaluate import evaluate
    from vae.judge import judges_for

    # Before the data and the judges, which take seconds: a typo should not wait for them.
    if args.seeds < 1 or args.n_per_class < 1:
        raise ValueError(f"--seeds and --n-per-class must be >= 1, got {args.seeds} and {args.n_per_class}")
    if not (math.isfinite(args.temperature) and args.temperature > 0):
        raise ValueError(f"--temperature must be a number > 0, got {args.temperature}")
    ckpt = load_checkpoint(args.path)
    dataset = load_dataset(ckpt.config.dataset, args.data_dir)
    if dataset.notice:
        print(f"note: {dataset.notice}", file=sys.stderr)
    judges = judges_for(dataset, args.path.parent) if ckpt.config.conditional else None
    result = evaluate(
        ckpt.model,
        dataset,
        judge=judges,
        k=args.k,
        n_per_digit=args.n_per_class,
        n_seeds=args.seeds,
        temperature=args.temperature,
    )
    result["checkpoint"] = str(args.path)
    result["trained_on"] = ckpt.dataset
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return
    for k, v in result.items():
        if k not in ("conditional_accuracy", "judge_accuracy_on_test_images"):
            print(f"{k:>24}: {v:.4f}" if isinstance(v, float) else f"{k:>24}: {v}")
    print(judged_table(result["conditional_accuracy"], result["judge_accuracy_on_test_images"]))


def _percent(value: float | None) -> str:
    return "   -" if value is None else f"{100 * value:4.0f}"


def judged_table(generated: dict | None, real: dict | None) -> str:
    """Conditional accuracy as a few lines of text: per judge and both, generated and real images."""
    if generated is None:
        return "conditional accuracy: none (the model is not conditional, or no judge)"
    s = generated
    std = "" if s["std"] is None else f" ± {100 * s['std']:.1f}"
    lines = [
        f"conditional accuracy: {100 * s['overall']:.1f} %{std} (min {100 * s['min']:.1f}, max {100 * s['max']:.1f}) "
        f"over {len(s['seeds'])} z seeds x {s['n_per_digit']} images per class, temperature {s['temperature']:g}; "
        "right = every judge names the class asked for",
        f"  {'%, per class':<22}" + "".join(f"{d:>5}" for d in range(10)) + "    all",
    ]
    rows = [("all judges", s, real)]
    rows += [(name, s["judges"][name], real["judges"][name] if real else None) for name in s["judges"]]
    for name, gen, on_real in rows:
        lines.append(
            f"  {name + ', generated':<22}"
            + "".join(f" {_percent(v)}" for v in gen["per_digit"])
            + f"  {100 * gen['overall']:5.1f}"
        )
        if on_real is not None:
            lines.append(
                f"  {name + ', real test':<22}"
                + "".join(f" {_percent(v)}" for v in on_real["per_digit"])
                + f"  {100 * on_real['overall']:5.1f}"
            )
    if s["agreement"] is not None:
        lines.append(
            f"  the judges name the same class for {100 * s['agreement']:.1f} % of generated images"
            + (f", {100 * real['agreement']:.1f} % of real ones" if real else "")
        )
    return "\n".join(lines)


def cmd_sample(args: argparse.Namespace) -> None:
    import torch

    from vae.images import grid, png_bytes
    from vae.model import one_hot

    ckpt = load_checkpoint(args.path)
    if not 1 <= args.n <= 1024:
        raise ValueError(f"--n must be 1..1024, got {args.n}")
    digit = None
    if ckpt.config.conditional:
        if args.digit is None or not 0 <= args.digit <= 9:
            raise ValueError(f"--digit must be 0..9 for this conditional model, got {args.digit}")
        digit = one_hot([args.digit] * args.n)
    g = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        images = ckpt.model.decode(torch.randn(args.n, ckpt.config.z_dim, generator=g), digit)
    cols = int(args.n**0.5 + 0.999)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(png_bytes(grid(images.numpy(), cols), scale=2))
    print(f"wrote {args.out} ({args.n} samples)")


def cmd_list(args: argparse.Namespace) -> None:
    paths = list_checkpoints(args.directory)
    if not paths:
        print(f"No checkpoints in {args.directory}: train one with `python -m vae train --preset seed`.")
    for path in paths:
        try:
            run = load_checkpoint(path)
            print(f"{path}  epoch {run.epoch}  {run.dataset.get('name', '?')}  {run.command}")
        except CheckpointError as exc:
            print(f"{path}  unreadable: {exc}")


def cmd_data(args: argparse.Namespace) -> None:
    dataset = load_dataset(args.dataset, args.data_dir)
    if dataset.notice:  # MNIST fell back to the offline subset: what was asked for is not there
        raise DatasetError(
            f"MNIST could not be downloaded into {args.data_dir}/. Check the network and run this again; until "
            f"then the app and `train` use the offline subset ({len(dataset.train_y) + len(dataset.test_y):,} digits)."
        )
    print(f"{dataset.source}: {len(dataset.train_y):,} training and {len(dataset.test_y):,} test images, ready")


def cmd_kit(args: argparse.Namespace) -> None:
    from vae.data import mnist_subset
    from vae.judge import judge_for
    from vae.kit import KIT, kit_model, train_kit_model

    models = [kit_model(name) for name in args.only] if args.only else list(KIT)  # a typo fails before any work
    if args.epochs is not None and not 1 <= args.epochs <= 1000:
        raise ValueError(f"--epochs must be 1..1000, got {args.epochs}")
    import torch

    # One thread: these small models train no faster on more, and with other work on the machine torch's
    # extra threads made a 2-epoch try 45 s instead of 1 s (measured at a load average of 7).
    torch.set_num_threads(1)
    device = resolve_device(args.device)
    for model in models:  # refuse now, not after minutes of training the others
        if (args.out / f"{model.name}.pt").exists() and not args.overwrite:
            raise CheckpointError(f"{args.out / model.name}.pt exists already: add --overwrite to train it again.")
    # The offline subset whatever is on disk: the kit is the same on every machine.
    dataset = mnist_subset()
    judge = judge_for(dataset, DEFAULT_DIR)  # shipped in checkpoints/judges (else trained once, about a minute)
    total = 0
    for model in models:
        epochs = args.epochs or model.config.epochs

        def progress(epoch: int, name: str = model.name, epochs: int = epochs) -> None:
            print(f"\r{name}: epoch {epoch}/{epochs}", end="", file=sys.stderr, flush=True)

        run, path, seconds = train_kit_model(
            model, dataset, args.out, judge, args.epochs, args.overwrite, device, on_epoch=progress
        )
        print("\r", end="", file=sys.stderr)
        size = path.stat().st_size
        total += size
        outcome = f"stopped: {run.error}" if run.error else f"finished {run.epoch} epochs"
        m = run.epoch_metrics[-1] if run.epoch_metrics else {}
        scores = f"test loss {m['test_loss']:.1f}, KL {m['test_kl']:.2f}" if m else "no epoch finished"
        print(f"{path}  {model.setting}: {outcome} in {seconds:.0f} s; {scores}; {size / 1e6:.2f} MB")
    print(f"{len(models)} kit model{'s' * (len(models) != 1)}, {total / 1e6:.2f} MB in {args.out}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {
        "info": cmd_info,
        "train": cmd_train,
        "evaluate": cmd_evaluate,
        "sample": cmd_sample,
        "list": cmd_list,
        "data": cmd_data,
        "kit": cmd_kit,
    }
    try:
        commands[args.command](args)
    except (CheckpointError, DatasetError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
