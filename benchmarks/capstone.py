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
- optionally (``--apgd-t-images``, default 0) targeted Auto-PGD as the AutoAttack leaderboard's standard
  version runs it and ART's AutoAttack does not (APGD-T: DLR loss towards each of the 9 other classes with
  the highest clean logits, 100 iterations, 1 restart each; ``referee.apgd_targeted``);
- "lowest of all": per image, robust only if every attack that ran left it standing (the AND of their
  records, over the images all of them attacked);
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

Each attack's row keeps which images it broke: ``"robust"``, one character per attacked image from test image
``"first_image"`` on (``1`` still correct, ``0`` broken), and for AutoAttack ``"first_broken_by"`` (per image the
attack that broke it first, null, or ``"clean-misclassified"``); the Markdown table leaves them out.

A long evaluation resumes: the per-image records are saved after every ``--chunk`` images (default 100) in
``artifacts/benchmarks/<model>[-<tag>]-<mode>.state.json``, and the same command run again continues where it
stopped (asking for more images extends the records). A state saved for another model (or retrained weights),
eps, first image or attack settings is refused with a message; ``--fresh`` discards it. Seeds are set per
chunk, so a resumed run draws what an uninterrupted one would.

AutoAttack on 1,000 images of the deeper networks takes about 3 hours here, so
it may also run in parts: ``--first-image 200 --strong-images 200 --apgd-images 0
--autoattack-images 200 --tag aa200-399`` attacks test images 200 to 399 (clean
accuracy stays on the whole test split); ``benchmarks/merge_parts.py`` concatenates
the parts' per-image records (each attack's images must end where the next part's begin).
"""
import argparse

import common  # first: it imports helpers, which must come before TensorFlow

import numpy as np
from helpers import data, evaluation, referee, training, zoo

import experiments.capstone  # importable from the repository root, which common puts on sys.path

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


PGD_MEASURES = {"ce": "PGD-100x5 (ce)", "margin": "PGD-100x5 (margin)"}
STRONGEST = "strongest PGD (worst case of both)"
APGD = "ART Auto-PGD (CE then DLR, 100 iterations, 5 restarts)"
AUTOATTACK = "ART AutoAttack"
APGD_T = "ART APGD-T (targeted DLR, 9 target classes, 100 iterations, 1 restart each)"
LOWEST = "lowest of all (per image, every attack)"


def autoattack_record(model, x: np.ndarray, y: np.ndarray, *, eps: float) -> dict:
    """ART's AutoAttack per image: ``{"robust": bool (n,), "first_broken_by": [...]}``.

    ``first_broken_by``: per image the name of AutoAttack's attack that broke it first (``APGD-CE``,
    ``APGD-DLR``, ``DeepFool``, ``Square``), None where none did, ``"clean-misclassified"`` where the model
    was wrong before any attack. ART's seed is drawn from NumPy's, which :meth:`common.State.run` sets per chunk.
    """
    result = referee.autoattack(model, x, y, eps=eps, seed=int(np.random.randint(2**31 - 1)))
    names = list(result["found_by"])
    first = [None if b == -1 else common.CLEAN_MISCLASSIFIED if b == -2 else names[b]
             for b in result["first_broken_by"]]
    return {"robust": evaluation.predict_labels(model, result["x_adv"]) == y, "first_broken_by": first}


def attack_row(measure: str, record: dict, threat: str, first: int) -> dict:
    """A result row from a per-image record (:meth:`common.State.run`); ``threat`` without the image count."""
    n = len(record["robust"])
    row = {"measure": measure, "value": float(common.robust_mask(record["robust"]).mean()), "images": n,
           "threat model": f"{threat}, {n:,} images", "seconds": record["seconds"], "first_image": first,
           "robust": record["robust"]}
    if "first_broken_by" in record:
        row["found_by"], row["misclassified_clean"] = common.found_by_counts(record["first_broken_by"])
        row["first_broken_by"] = record["first_broken_by"]
    if "broken_with_target" in record:
        row["broken_with_target"] = record["broken_with_target"]
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    parser.add_argument("--apgd-t-images", type=int, default=0,
                        help="ART's targeted Auto-PGD (APGD-T, 9 targets), as the AutoAttack leaderboard runs it")
    parser.add_argument("--first-image", type=int, default=0,
                        help="attack the test images from this index on (to run a long evaluation in parts)")
    parser.add_argument("--chunk", type=int, default=100,
                        help="images per chunk: the state file is saved after each one")
    parser.add_argument("--fresh", action="store_true",
                        help="discard the saved state of this evaluation (artifacts/benchmarks/<name>.state.json)")
    args = parser.parse_args()
    counts = ("strong_images", "apgd_images", "autoattack_images", "apgd_t_images", "first_image")
    for key in counts:
        if getattr(args, key) < 0:
            parser.error(f"--{key.replace('_', '-')} must be >= 0")
    if args.chunk < 1:
        parser.error("--chunk must be >= 1")

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
    if first >= len(x):
        parser.error(f"--first-image {first} is past the test split's {len(x)} images")
    name = args.model + (f"-{args.tag}" if args.tag else "")
    state = common.State(common.state_path(name), {
        "model": args.model, "cache_key": meta.get("cache_key"), "weights": common.weights_digest(model),
        "eps": EPS, "first_image": first}, fresh=args.fresh)
    art_version = f"ART {referee.art_version()}"
    plan = []              # (measure, images, settings, attack(x, y) -> record, threat model without the count)
    for loss, attack in evaluation.strongest_pgd_attacks(EPS).items():        # PGD-100x5, CE then margin
        measure = PGD_MEASURES[loss]
        plan.append((measure, args.strong_images, {"attack": "helpers.attacks.pgd", **attack.keywords},
                     lambda xs, ys, attack=attack: {"robust": evaluation.survivors(model, xs, ys, attack)},
                     evaluation.threat_model(attack, 0).removesuffix(", 0 images")
                     + (", ce loss" if loss == "ce" else "")))
    plan.append((APGD, args.apgd_images,
                 {"attack": "art AutoProjectedGradientDescent", "art": referee.art_version(), "eps": EPS,
                  "eps_step": 2 * EPS, "max_iter": 100, "restarts": 5, "losses": ["cross_entropy", "dlr"]},
                 lambda xs, ys: {"robust": referee.apgd_survivors(model, xs, ys, eps=EPS, restarts=5)},
                 f"L-inf eps {EPS}, {art_version}, first step 2 eps"))
    plan.append((AUTOATTACK, args.autoattack_images,
                 {"attack": "art AutoAttack", "art": referee.art_version(), "eps": EPS, "eps_step": EPS / 4},
                 lambda xs, ys: autoattack_record(model, xs, ys, eps=EPS),
                 f"L-inf eps {EPS}, {art_version} AutoAttack defaults, first step eps/4"))
    plan.append((APGD_T, args.apgd_t_images,
                 {"attack": "art AutoProjectedGradientDescent targeted", "art": referee.art_version(), "eps": EPS,
                  "eps_step": 2 * EPS, "max_iter": 100, "restarts": 1, "targets": 9, "loss": "dlr",
                  "target_order": "highest clean logits"},
                 lambda xs, ys: referee.apgd_targeted(model, xs, ys, eps=EPS),
                 f"L-inf eps {EPS}, {art_version} targeted Auto-PGD, DLR loss, the 9 other classes with the highest "
                 f"clean logits, 100 iterations, 1 restart each, first step 2 eps"))
    ran = {}
    for measure, n, settings, attack, threat in plan:
        if n:
            xs, ys = x[first:first + n], y[first:first + n]
            record = state.run(measure, settings, xs, ys, attack, chunk=args.chunk, seed=meta.get("seed") or 0)
            ran[measure] = attack_row(measure, record, threat, first)
    pgd_rows = [ran[m] for m in PGD_MEASURES.values() if m in ran]
    rows += pgd_rows
    strongest = common.worst_case_row(STRONGEST, pgd_rows, f"L-inf eps {EPS}, per image") if pgd_rows else None
    if len(pgd_rows) == 2:
        rows.append(strongest)
    referees = [ran[m] for m in (APGD, AUTOATTACK, APGD_T) if m in ran]
    rows += referees
    if AUTOATTACK in ran and strongest and ran[AUTOATTACK]["images"] <= strongest["images"]:
        rows.append(common.worst_case_row("strongest PGD on the AutoAttack images", pgd_rows,
                                          f"L-inf eps {EPS}, per image", images=ran[AUTOATTACK]["images"]))
    every = ([strongest] if strongest else []) + referees
    lowest = None
    if len(every) > 1:
        names = ", ".join(r["measure"].split(" (")[0] for r in every)
        lowest = common.worst_case_row(LOWEST, every, f"L-inf eps {EPS}, per image, the worst case of {names}")
        rows.append(lowest)
    robust = min(r["value"] for r in rows[1:]) if len(rows) > 1 else float("nan")
    extra = {"model": meta.get("description"), "settings": meta.get("settings"),
             "train_seconds": meta.get("train_seconds"), "epochs": len(epochs),
             **cost, "reported_robust_accuracy": robust,
             "clean_accuracy": rows[0]["value"], "parameters": model.count_params(),
             "best_epoch": meta.get("best_epoch", len(epochs)), "first_image": first, "seed": meta.get("seed"),
             "state": {"file": state.path.name, "chunk": args.chunk}}
    last = first + max((r["images"] for r in rows[1:]), default=0) - 1
    kept = f", weights of epoch {meta['best_epoch']} kept" if "best_epoch" in meta else ""
    note = (f"Model `{args.model}` (seed {meta.get('seed')}): {meta.get('description')}; {model.count_params():,} "
            f"parameters; trained in "
            f"{meta.get('train_seconds')} s ({len(epochs)} epochs{kept}, {ratio:.1f}x the cost of standard training "
            f"per epoch, the standard epoch timed {cost['standard_epoch_timed']}). "
            f"Reported robust accuracy (the lowest of all attacks): {robust:.2%}"
            + (f", test images {first}..{last}" if first else "") + ".")
    if lowest:
        note += (f" Per image, an image counts as robust only where every attack left it standing "
                 f"({', '.join(lowest['of'])}): {lowest['value']:.2%} of {lowest['images']:,} images.")
    note += common.found_by_note(rows)
    common.write_results(name, rows, extra, note)


if __name__ == "__main__":
    try:
        main()
    except common.StateMismatch as error:           # a saved state of another evaluation: say so, no traceback
        raise SystemExit(f"capstone.py: {error}") from None
