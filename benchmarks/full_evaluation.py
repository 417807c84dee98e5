"""The evaluation a reviewer would trust, for the base, NSL and PGD-trained models, at L-inf eps 0.1, 0.2, 0.3.

Columns, each with its own image count (stated in the output):

- clean accuracy (the whole test split);
- the seed tutorial's attack at this eps: one L-inf gradient-sign step crafted
  on the BASE model through NSL's ``perturb_on_batch``, clipped (a transfer
  attack for every other model; the whole test split);
- white-box PGD-40 (step 2.5·eps/40, 1 random start; ``--pgd40-images``);
- white-box PGD-100 with 5 random restarts, cross-entropy, and the same with the
  margin (Carlini–Wagner) loss; the "strongest PGD" column is the per-image
  worst case of both (``--strong-images``);
- the independent referee: ART's Auto-PGD with cross-entropy and DLR losses,
  100 iterations each (``--referee-images``);
- optionally (``--checklist``) the Carlini et al. checklist at eps 0.3.

Each row keeps which images the PGD-100 columns broke (``robust``: ``"0110..."`` per test image from 0).

    ADVLAB_DATA_DIR=/path/to/mnist .venv/bin/python benchmarks/full_evaluation.py
"""
import argparse
import functools
import time

import common  # first: it imports helpers, which must come before TensorFlow
import dataclasses

import numpy as np
from helpers import attacks, config, data, evaluation, nsl, referee, zoo

MODELS = ("base", "nsl", "pgd_at")
EPSILONS = (0.1, 0.2, 0.3)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pgd40-images", type=int, default=None, help="default: the whole test split")
    parser.add_argument("--strong-images", type=int, default=1000)
    parser.add_argument("--referee-images", type=int, default=300)
    parser.add_argument("--checklist", action="store_true", help="also run the checklist at eps 0.3 (1,000 images)")
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    if args.referee_images > args.strong_images:
        parser.error("--referee-images must not exceed --strong-images (the referee's images are the first of those)")
    hp = config.hparams()
    names = args.models.split(",")
    models = {name: zoo.get(name) for name in names}
    base = models.get("base") or zoo.get("base")
    x, y = data.load_normalized("test")
    n40 = args.pgd40_images or len(x)
    rows, checklists = [], {}
    for eps in EPSILONS:
        started = time.perf_counter()
        seed = nsl.seed_tutorial_accuracy(base, models, x, y, dataclasses.replace(hp, adv_step_size=eps))
        for name, model in models.items():
            t0 = time.perf_counter()
            row = {"model": name, "eps": eps, "clean": evaluation.accuracy(model, x, y),
                   "seed attack (transfer from base, 1 step)": seed[name]}
            pgd40 = functools.partial(attacks.pgd, eps=eps, steps=40)
            row["PGD-40"] = evaluation.robust_accuracy(model, x[:n40], y[:n40], pgd40, progress=False)
            strong = evaluation.strongest_pgd(model, x[:args.strong_images], y[:args.strong_images], eps=eps,
                                              progress=False)
            row["PGD-100 x5 (CE)"] = float(np.mean(strong.survivors["ce"]))
            row["strongest PGD (CE or margin, 100 x5)"] = strong.accuracy
            nr = args.referee_images
            row["ART Auto-PGD (CE+DLR, 100 it)"] = referee.robust_accuracy(model, x[:nr], y[:nr], eps=eps,
                                                                                  attack="apgd")
            row["our strongest PGD on the referee's images"] = float(np.mean(strong.worst[:nr]))
            row["robust"] = {"first_image": 0, "PGD-100 x5 (CE)": common.robust_record(strong.survivors["ce"]),   # per
                             "strongest PGD (CE or margin, 100 x5)": common.robust_record(strong.worst)}  # image
            row["seconds"] = round(time.perf_counter() - t0, 1)
            rows.append(row)
            print({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
        print(f"eps {eps}: {time.perf_counter() - started:.0f} s", flush=True)
    if args.checklist:
        xc, yc = x[:1000], y[:1000]
        for name, model in models.items():
            table = evaluation.checklist(model, xc, yc, eps=0.3, surrogate=base if name != "base" else None,
                                         progress=False)
            checklists[name] = table.to_dict(orient="records")
            print(f"checklist {name}:\n{table[['check', 'passed', 'numbers']].to_string()}", flush=True)
    note = (f"L-inf. Clean and seed-attack columns: {len(x):,} test images; PGD-40 (1 random start, step 2.5·eps/40): "
            f"{n40:,}; PGD-100 with 5 restarts: the first {args.strong_images:,}; ART Auto-PGD and our strongest PGD "
            f"on the same first {args.referee_images:,}. Models from the zoo ({', '.join(names)}), mode "
            f"{config.mode()}.")
    common.write_results("full_evaluation", rows, {"checklists": checklists, "pgd40_images": n40,
                                                   "strong_images": args.strong_images,
                                                   "referee_images": args.referee_images}, note)


if __name__ == "__main__":
    main()
