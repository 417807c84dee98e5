"""Defensive distillation against the attacks that see through it: success rates and mean distortions.

For the zoo's ``base`` and ``distilled`` (T = 100) models: FGSM and PGD-40 on
the cross-entropy, PGD-40 on the margin loss (all L-inf eps 0.3) on
``--images`` test images, and the unbounded minimum-distortion attacks C&W L2
and EAD (beta 0.01, elastic-net rule) on the first ``--min-images``. Success
rate = share of the correctly classified images that the attack fools;
distortions (L0 pixels changed, L1, L2, L-inf) are means over the fooled ones.

    ADVLAB_DATA_DIR=/path/to/mnist .venv/bin/python benchmarks/distillation.py
"""
import argparse
import functools

import common  # first: it imports helpers, which must come before TensorFlow
import pandas as pd
from helpers import attacks, data, evaluation, zoo


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--min-images", type=int, default=200)
    parser.add_argument("--binary-search-steps", type=int, default=6)
    parser.add_argument("--max-iterations", type=int, default=500)
    args = parser.parse_args()
    settings = dict(binary_search_steps=args.binary_search_steps, max_iterations=args.max_iterations,
                    learning_rate=0.01, initial_const=0.1)
    x, y = data.load_normalized("test", limit=args.images)
    bounded = {"FGSM (CE)": functools.partial(attacks.fgsm, eps=0.3),
               "PGD-40 (CE)": functools.partial(attacks.pgd, eps=0.3, steps=40),
               "PGD-40 (margin)": functools.partial(attacks.pgd, eps=0.3, steps=40, loss="margin")}
    minimum = {"C&W L2": functools.partial(attacks.cw_l2, **settings),
               "EAD (beta 0.01, EN rule)": functools.partial(attacks.ead, beta=0.01, **settings)}
    tables = []
    for name in ("base", "distilled"):
        model = zoo.get(name)
        for attack_set, n in ((bounded, args.images), (minimum, args.min_images)):
            table = evaluation.attack_report(model, x[:n], y[:n], attack_set, progress=False)
            tables.append(table.assign(model=name, clean=evaluation.accuracy(model, x[:n], y[:n])))
            print(tables[-1].to_string(), flush=True)
    rows = pd.concat(tables)[["model", "attack", "clean", "success_rate", "mean_L0", "mean_L1", "mean_L2",
                              "mean_Linf", "images", "seconds"]].to_dict(orient="records")
    note = (f"Bounded attacks: L-inf eps 0.3, first {args.images:,} test images. C&W L2 and EAD: unbounded, "
            f"{args.binary_search_steps} constants x {args.max_iterations} steps (lr 0.01, first constant 0.1), first "
            f"{args.min_images:,} test images. 'images' = correctly classified images attacked; distortions are "
            f"means over the fooled ones. Distilled: temperature {zoo.metadata('distilled')['temperature']:g}.")
    common.write_results("distillation", rows, {"settings": settings}, note)


if __name__ == "__main__":
    main()
