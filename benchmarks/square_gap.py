"""Why ART's AutoAttack reads below Auto-PGD on lesson 09's models: what a gradient-free search finds.

For one of lesson 09's models, at L-inf eps 0.3 on the first ``--images`` test images:

- the fraction of input pixels whose loss gradient is exactly 0 at the clean image (cross-entropy and
  margin), for the model and for the standard-trained ``base`` model: a sign-gradient attack never moves
  those pixels;
- our strongest PGD (PGD-100 with 5 restarts on the cross-entropy and on the margin, per image worst case);
- ART's Square attack (gradient-free, ``--queries`` queries per image, ``--restarts`` runs) on the images
  that PGD left standing, and the accuracy under both;
- with ``--finetune-start blocks`` (or ``none``, the control), one more epoch of TRADES training at a
  constant learning rate of 1e-4 with the inner attack started from random eps-squares
  (``attacks.random_blocks``; ``none``: TRADES' own start), and the same measures after it.

    ADVLAB_DATA_DIR=/path/to/mnist .venv/bin/python benchmarks/square_gap.py --model capstone_trades_smallcnn_shift18

Writes ``artifacts/benchmarks/square_gap-<model>[-<tag>]-<mode>.json`` and ``.md``. About 13 minutes for
1,000 images of the deeper network on 2 CPU cores, plus about 6 minutes for the fine-tuning epoch.
"""
import argparse
import time

import common  # first: it imports helpers, which must come before TensorFlow

from helpers import data, evaluation, referee, training, zoo

import experiments.capstone  # importable from the repository root, which common puts on sys.path

EPS = 0.3


def measure(model, x, y, queries: int, restarts: int, label: str) -> list[dict]:
    """Rows: zero-gradient fractions, strongest PGD, and Square on what PGD leaves (``label`` names the model)."""
    rows = []
    for loss in ("ce", "margin"):
        rows.append({"model": label, "measure": f"pixels with a zero {loss} gradient at the clean image",
                     "value": evaluation.zero_gradient_fraction(model, x, y, loss=loss), "images": len(x),
                     "threat model": "none", "seconds": 0.0})
    start = time.perf_counter()
    strong = evaluation.strongest_pgd(model, x, y, eps=EPS, progress=False)
    standing = strong.worst
    rows.append({"model": label, "measure": "strongest PGD (PGD-100x5, CE and margin, per image)",
                 "value": strong.accuracy, "images": len(x), "threat model": strong.threat_model(),
                 "seconds": round(time.perf_counter() - start, 1)})
    start = time.perf_counter()
    if standing.any():
        square = referee.robust_accuracy(model, x[standing], y[standing], eps=EPS, attack="square",
                                                max_iter=queries, restarts=restarts)
        kept_count = int(round(square * standing.sum()))
    else:
        kept_count = 0
    rows.append({"model": label, "measure": f"strongest PGD, then ART Square-{queries}x{restarts} on what it leaves",
                 "value": kept_count / len(x), "images": len(x),
                 "threat model": f"L-inf eps {EPS}, ART {referee.art_version()} Square, {queries} queries, "
                                 f"{restarts} restart(s), p_init 0.8",
                 "seconds": round(time.perf_counter() - start, 1)})
    return rows


def finetune(name: str, model, start: str | None) -> float:
    """One epoch of TRADES (the model's own beta, steps and shifts) at learning rate 1e-4; returns seconds."""
    settings, hp = zoo.settings(name), zoo.hparams(name)
    split = data.load_mnist_arrays("train", verbose=False)
    pipeline = data.random_shift(data.make_pipeline(data.as_dataset(split), hp, training=True),
                                 settings.get("shift_pixels", 0))
    began = time.perf_counter()
    training.train_adversarial(model, pipeline, hp, verbose=1, epochs=1, learning_rate=1e-4, method="trades",
                               beta=settings.get("beta", 6.0), eps=settings["eps"], steps=settings["steps"],
                               start=start)
    return time.perf_counter() - began


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    experiments.capstone.register()                     # the default is a research run of experiments/capstone/
    parser.add_argument("--model", default="capstone_trades_smallcnn_shift18", choices=zoo.names())
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=1000, help="Square's queries per image (AutoAttack: 5,000)")
    parser.add_argument("--restarts", type=int, default=1, help="Square's runs per image (AutoAttack: 5)")
    parser.add_argument("--finetune-start", choices=("blocks", "none"), default=None,
                        help="then fine-tune one TRADES epoch from this start and measure again")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    if args.images < 1 or args.queries < 1 or args.restarts < 1:
        parser.error("--images, --queries and --restarts must be >= 1")

    x, y = data.load_normalized("test")
    x, y = x[:args.images], y[:args.images]
    base = zoo.get("base", verbose=0)
    rows = [{"model": "base", "measure": f"pixels with a zero {loss} gradient at the clean image",
             "value": evaluation.zero_gradient_fraction(base, x, y, loss=loss), "images": len(x),
             "threat model": "none", "seconds": 0.0} for loss in ("ce", "margin")]
    model = zoo.get(args.model, verbose=0)
    rows += measure(model, x, y, args.queries, args.restarts, args.model)
    extra = {"model": args.model, "images": len(x), "queries": args.queries, "restarts": args.restarts}
    if args.finetune_start:
        seconds = finetune(args.model, model, None if args.finetune_start == "none" else args.finetune_start)
        label = f"{args.model} + 1 TRADES epoch from start {args.finetune_start!r}"
        rows += measure(model, x, y, args.queries, args.restarts, label)
        extra.update(finetune_start=args.finetune_start, finetune_seconds=round(seconds, 1))
    note = (f"Model `{args.model}`, the first {len(x):,} test images, L-inf eps {EPS}. Square runs only on the "
            "images that our strongest PGD leaves standing; its row is the accuracy under both.")
    common.write_results(f"square_gap-{args.model}" + (f"-{args.tag}" if args.tag else ""), rows, extra, note)


if __name__ == "__main__":
    main()
