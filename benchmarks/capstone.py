"""Lesson 09's capstone: train (or load) the robust model and evaluate it as a reviewer would, at L-inf eps 0.3.

- clean accuracy on the whole test split;
- our PGD-100 with 5 random restarts, cross-entropy and margin losses, and the
  per-image worst case of both (``--strong-images``, default 1,000);
- ART's Auto-PGD alone (cross-entropy then DLR, 5 restarts each, the paper's first step 2·eps;
  ``--apgd-images``, default 1,000, about 9 minutes here): an independent gradient-based attack,
  AutoAttack's core (ART's AutoAttack runs it with a first step of eps/4), so that what AutoAttack
  finds beyond it comes mostly from its gradient-free Square attack;
- the independent referee: the Adversarial Robustness Toolbox's AutoAttack
  (``--autoattack-images``, default 1,000; 50 minutes for the capstone on 2 CPU cores, as its
  Square attack runs on every image still standing), with the number of images each of its attacks
  broke first (``found_by``: APGD-CE, APGD-DLR, DeepFool, Square);
- the training time, and its ratio to one epoch of standard training of the same network (timed in the
  run that trains the model and kept with it, as this machine's speed varies from day to day).

The model is the zoo's ``capstone`` (``helpers/zoo.py``) or, with ``--model``, one of
lesson 09's comparisons, the champion (``zoo.CHAMPION``) or a research run of
``experiments/capstone/``; it is saved as a plain Keras model under ``artifacts/models/``
so anyone can attack it with their own tools:

    ADVLAB_DATA_DIR=/path/to/mnist .venv/bin/python benchmarks/capstone.py            # train if absent, evaluate
    ADVLAB_DATA_DIR=/path/to/mnist .venv/bin/python benchmarks/capstone.py --train-only
    ADVLAB_DATA_DIR=/path/to/mnist .venv/bin/python benchmarks/capstone.py --model capstone_trades

``--model`` picks one of those runs (the capstone recipe with one idea changed,
see ``experiments/capstone/README.md``); results go to ``artifacts/benchmarks/<model>[-<tag>]-<mode>.json``
and ``.md`` (``--tag`` keeps a partial run, e.g. ``--apgd-images 0``, apart).

AutoAttack on 1,000 images of the deeper networks takes about 3 hours here, so
it may run in parts: ``--first-image 200 --strong-images 200 --apgd-images 0
--autoattack-images 200 --tag aa200-399`` attacks test images 200 to 399 (clean
accuracy stays on the whole test split); ``benchmarks/merge_parts.py`` adds the
parts up (every attack of a part must cover the same images).
"""
import argparse
import functools
import time

import common  # noqa: I001  (first: it imports helpers, which must come before TensorFlow)

import art
import numpy as np
from helpers import attacks, data, evaluation, training, zoo

import experiments.capstone  # noqa: E402  (importable from the repository root, which common puts on sys.path)

EPS = 0.3


def standard_epoch_seconds(hp, settings: dict) -> float:
    """Seconds for one epoch of standard training of the model's network (same batch size and data)."""
    split = data.load_mnist_arrays("train", verbose=False)
    pipeline = data.make_pipeline(data.as_dataset(split), hp, training=True)
    model = zoo.build_capstone_network(settings)
    history = training.train_classifier(model, pipeline, hp, verbose=0, epochs=2)
    return float(history.history["epoch_seconds"][-1])      # the second epoch: no tracing time


WITH_TRAINING = "in the run that trained the model"
AT_EVALUATION = ("at this evaluation, not with the training (this machine's speed varies by more than 2x from "
                 "day to day, so the ratio may be off by as much)")


def training_cost(meta: dict, time_standard_epoch, trained_now: bool) -> dict:
    """The training cost: the median training epoch over one epoch of standard training of the same network.

    Both must be timed on the same day: this machine's speed varies by more than 2x between days. So the
    standard epoch is timed in the run that trains the model and kept in its metadata
    (``standard_epoch_seconds``); a model trained without it (before this was kept, or by another program)
    has it timed now, and the result says so. ``meta``: the zoo's metadata (``history.epoch_seconds``);
    ``time_standard_epoch()``: seconds for one standard epoch, called only when needed; ``trained_now``: the
    model was trained by this run. Returns ``cost_ratio_to_standard_training``, ``standard_epoch_seconds``,
    ``standard_epoch_timed`` (:data:`WITH_TRAINING` or :data:`AT_EVALUATION`) and ``keep`` (True when the new
    timing belongs in the model's metadata).
    """
    epochs = meta.get("history", {}).get("epoch_seconds")
    if not epochs:
        raise ValueError(f"the metadata of {meta.get('name')!r} has no epoch_seconds to compare")
    stored = meta.get("standard_epoch_seconds")
    seconds = float(stored) if stored else float(time_standard_epoch())
    return {"cost_ratio_to_standard_training": round(float(np.median(epochs)) / seconds, 2),
            "standard_epoch_seconds": round(seconds, 2),
            "standard_epoch_timed": WITH_TRAINING if stored or trained_now else AT_EVALUATION,
            "keep": not stored and trained_now}


def will_train(name: str, retrain: bool = False) -> bool:
    """Whether ``zoo.get(name, retrain=retrain)`` trains the model (it is not stored yet, or ``retrain``)."""
    return retrain or not zoo.is_stored(name)


def get_and_time(name: str, time_standard_epoch, *, retrain: bool = False):
    """The zoo's model ``name`` (trained first if absent, or with ``retrain``), its metadata and training cost.

    When this call trains the model, the standard epoch is timed now, beside the training, and kept in the
    model's metadata (``artifacts/models/<name>-....json``) for later evaluations (parts, other days);
    see :func:`training_cost`. Returns ``(model, metadata, cost)``.
    """
    trained_now = will_train(name, retrain)
    model = zoo.get(name, retrain=retrain)
    meta = zoo.metadata(name)
    cost = training_cost(meta, time_standard_epoch, trained_now)
    if cost.pop("keep"):
        meta = zoo.update_metadata(name, standard_epoch_seconds=cost["standard_epoch_seconds"])
    return model, meta, cost


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    research = experiments.capstone.register()         # the runs of experiments/capstone/ beyond the zoo's
    parser.add_argument("--model", default="capstone", choices=["capstone", *zoo.CAPSTONE_VARIANTS, *research],
                        help=f"the run to train and evaluate: the zoo's (champion: {zoo.CHAMPION}) or a research "
                             "run of experiments/capstone/")
    parser.add_argument("--tag", default="", help="added to the output's name, to keep a partial run's results apart")
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument("--train-only", action="store_true")
    parser.add_argument("--strong-images", type=int, default=1000)
    parser.add_argument("--apgd-images", type=int, default=1000,
                        help="ART's Auto-PGD alone (about 9 minutes for 1,000 images here)")
    parser.add_argument("--autoattack-images", type=int, default=1000)
    parser.add_argument("--first-image", type=int, default=0,
                        help="attack the test images from this index on (to run a long evaluation in parts)")
    args = parser.parse_args()
    if args.first_image < 0:
        parser.error("--first-image must be >= 0")

    if args.train_only and not will_train(args.model, args.retrain):
        print(f"{args.model!r} is already trained (--retrain trains it again)")
        return
    hp = zoo.hparams(args.model)
    model, meta, cost = get_and_time(args.model, lambda: standard_epoch_seconds(hp, zoo.settings(args.model)),
                                     retrain=args.retrain)
    epochs = meta["history"]["epoch_seconds"]
    ratio = cost["cost_ratio_to_standard_training"]
    if args.train_only:
        return

    x, y = data.load_normalized("test")
    rows = [{"measure": "clean accuracy", "value": evaluation.accuracy(model, x, y), "images": len(x),
             "threat model": "none", "seconds": 0.0}]
    first = args.first_image
    part = f", test images {first}..{first + max(args.strong_images, args.apgd_images, args.autoattack_images) - 1}"
    xs, ys = x[first:first + args.strong_images], y[first:first + args.strong_images]
    masks = {}
    for loss in ("ce", "margin"):
        attack = functools.partial(attacks.pgd, eps=EPS, steps=100, restarts=5, loss=loss)
        start = time.perf_counter()
        masks[loss] = evaluation.survivors(model, xs, ys, attack)
        rows.append({"measure": f"PGD-100x5 ({loss})", "value": float(masks[loss].mean()), "images": len(xs),
                     "threat model": evaluation.threat_model(attack, len(xs)) + (", ce loss" if loss == "ce" else ""),
                     "seconds": round(time.perf_counter() - start, 1)})
    worst = float((masks["ce"] & masks["margin"]).mean())
    rows.append({"measure": "strongest PGD (worst case of both)", "value": worst,
                 "images": len(xs), "threat model": f"L-inf eps {EPS}, per image", "seconds": 0.0})
    if args.apgd_images:
        xa, ya = x[first:first + args.apgd_images], y[first:first + args.apgd_images]
        start = time.perf_counter()
        apgd = evaluation.art_robust_accuracy(model, xa, ya, eps=EPS, attack="apgd", restarts=5)
        rows.append({"measure": "ART Auto-PGD (CE then DLR, 100 iterations, 5 restarts)", "value": apgd,
                     "images": len(xa), "threat model": f"L-inf eps {EPS}, ART {art.__version__}, first step 2 eps",
                     "seconds": round(time.perf_counter() - start, 1)})
    if args.autoattack_images:
        xa, ya = x[first:first + args.autoattack_images], y[first:first + args.autoattack_images]
        start = time.perf_counter()
        referee = evaluation.autoattack(model, xa, ya, eps=EPS)
        rows.append({"measure": "ART AutoAttack", "value": referee["accuracy"], "images": len(xa),
                     "threat model": f"L-inf eps {EPS}, ART {art.__version__} AutoAttack defaults, first step eps/4",
                     "seconds": round(time.perf_counter() - start, 1),
                     "found_by": referee["found_by"], "misclassified_clean": referee["misclassified_clean"]})
        ours_same = float((masks["ce"][:len(xa)] & masks["margin"][:len(xa)]).mean()) if len(xa) <= len(xs) else None
        if ours_same is not None:
            rows.append({"measure": "strongest PGD on the AutoAttack images", "value": ours_same, "images": len(xa),
                         "threat model": f"L-inf eps {EPS}", "seconds": 0.0})
    robust = min(r["value"] for r in rows[1:])
    extra = {"model": meta.get("description"), "settings": meta.get("settings"),
             "train_seconds": meta.get("train_seconds"), "epochs": len(epochs),
             **cost, "reported_robust_accuracy": robust,
             "clean_accuracy": rows[0]["value"], "parameters": model.count_params(),
             "best_epoch": meta.get("best_epoch", len(epochs)), "first_image": first, "seed": meta.get("seed")}
    kept = f", weights of epoch {meta['best_epoch']} kept" if "best_epoch" in meta else ""
    note = (f"Model `{args.model}` (seed {meta.get('seed')}): {meta.get('description')}; {model.count_params():,} "
            f"parameters; trained in "
            f"{meta.get('train_seconds')} s ({len(epochs)} epochs{kept}, {ratio:.1f}x the cost of standard training "
            f"per epoch, the standard epoch timed {cost['standard_epoch_timed']}). "
            f"Reported robust accuracy (the lowest of all attacks): {robust:.2%}"
            + (part if first else "") + ".")
    note += common.found_by_note(rows)
    common.write_results(args.model + (f"-{args.tag}" if args.tag else ""), rows, extra, note)


if __name__ == "__main__":
    main()
