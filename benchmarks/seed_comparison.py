"""The seed NSL tutorial's table, reproduced, and what a white-box attack says about the same models.

Trains (or loads from the zoo) the ``base`` and ``nsl`` models, then measures
on the whole test split: clean accuracy; the tutorial's attack (one L-inf step
of 0.2 from the BASE model's gradients via NSL's ``perturb_on_batch``,
clipped: a transfer attack for the NSL model); and white-box PGD-40 (L-inf,
1 random start) with each model's own gradients at eps 0.2 and 0.3.

    ADVLAB_DATA_DIR=/path/to/mnist .venv/bin/python benchmarks/seed_comparison.py [--images N]
"""
import argparse
import functools

import common
from helpers import attacks, config, data, evaluation, nsl, zoo

SEED_PUBLISHED = {"base": {"clean": 0.989, "seed attack": "about 0.50"},
                  "nsl": {"clean": 0.992, "seed attack": "about 0.95"}}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=None, help="test images for the PGD rows (default: all)")
    args = parser.parse_args()
    hp = config.hparams()
    models = {name: zoo.get(name) for name in ("base", "nsl")}
    x, y = data.load_normalized("test")
    seed_attack = nsl.seed_tutorial_accuracy(models["base"], models, x, y, hp)
    xp, yp = x[:args.images], y[:args.images]
    rows = []
    for name, model in models.items():
        meta = zoo.metadata(name)
        row = {"model": name, "clean": evaluation.accuracy(model, x, y),
               "seed attack (transfer from base, L-inf 0.2, 1 step)": seed_attack[name],
               "seed published clean": SEED_PUBLISHED[name]["clean"],
               "seed published attack": SEED_PUBLISHED[name]["seed attack"]}
        for eps in (0.2, 0.3):
            attack = functools.partial(attacks.pgd, eps=eps, steps=40)
            row[f"white-box PGD-40 eps {eps}"] = evaluation.robust_accuracy(model, xp, yp, attack)
        row["train seconds"] = meta.get("train_seconds")
        rows.append(row)
    note = (f"Clean and seed-attack columns: all {len(x):,} test images. PGD columns: L-inf, 40 steps, step "
            f"2.5·eps/40, 1 random start, {len(xp):,} test images, each model's own gradients. Models: {hp.epochs} "
            f"epochs, batch {hp.batch_size}, NSL multiplier {hp.adv_multiplier}, step {hp.adv_step_size}.")
    common.write_results("seed_comparison", rows, {"pgd_images": len(xp)}, note)


if __name__ == "__main__":
    main()
