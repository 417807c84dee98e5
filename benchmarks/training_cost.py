"""Cost of one epoch of each adversarial training method, as a ratio to one epoch of standard training.

Same seed CNN, same data, same batch size (the mode's hyper-parameters); each
method trains a fresh model after a short warm-up (tracing), on ``--batches``
batches, twice; the faster of the two runs is scaled to one epoch (the
machine is shared, so the minimum is the honest estimate of the cost).
Adversarial methods at L-inf eps 0.3: FGSM, fast (FGSM with random start),
PGD-7; and NSL's adversarial regularisation with the seed tutorial's settings.

    ADVLAB_DATA_DIR=/path/to/mnist .venv/bin/python benchmarks/training_cost.py
"""
import argparse
import time

import common
from helpers import config, data, models, nsl, training

METHODS = {
    "standard": None,
    "NSL (seed settings, 1 gradient step)": "nsl",
    "FGSM": dict(method="fgsm", eps=0.3, mix=0.5),
    "fast (FGSM, random start)": dict(method="fast", eps=0.3, mix=1.0),
    "PGD-7": dict(method="pgd", eps=0.3, steps=7, mix=1.0),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=400, help="batches per timed run")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    hp = config.hparams()
    split = data.load_mnist_arrays("train")
    train = data.make_pipeline(data.as_dataset(split), hp, training=True)
    warm = train.take(5)
    timed = train.take(args.batches).cache()
    list(timed)  # fill the cache, so data loading is not timed
    batches_per_epoch = int(train.cardinality().numpy())
    rows, base_seconds = [], None
    for label, settings in METHODS.items():
        config.set_seeds()
        model = models.build_base_model(hp)
        if settings is None:
            models.compile_classifier(model, hp.learning_rate)
            model.fit(warm, epochs=1, verbose=0)
            fit = lambda: model.fit(timed, epochs=1, verbose=0)  # noqa: E731
        elif settings == "nsl":
            adv = nsl.wrap(model, hp)
            adv.fit(warm.map(data.convert_to_dictionaries), epochs=1, verbose=0)
            fit = lambda: adv.fit(timed.map(data.convert_to_dictionaries), epochs=1, verbose=0)  # noqa: E731
        else:
            trainer = training.AdversarialTrainer(model, **settings)
            trainer.compile(optimizer="adam")
            trainer.fit(warm, epochs=1, verbose=0)
            fit = lambda: trainer.fit(timed, epochs=1, verbose=0)  # noqa: E731
        runs = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            fit()
            runs.append(time.perf_counter() - start)
        seconds = min(runs) * batches_per_epoch / args.batches
        base_seconds = base_seconds or seconds
        rows.append({"method": label, "seconds per epoch": seconds, "ratio to standard": seconds / base_seconds})
        print(f"{label}: {seconds:.1f} s", flush=True)
    note = (f"Seconds per epoch = the faster of {args.repeats} runs over {args.batches} batches, scaled to one epoch "
            f"({batches_per_epoch} batches: {len(split):,} training images, batch {hp.batch_size}), seed CNN "
            f"({models.build_base_model(hp).count_params():,} parameters); adversarial methods at L-inf eps 0.3.")
    common.write_results("training_cost", rows, {"train_examples": len(split), "batch_size": hp.batch_size}, note)


if __name__ == "__main__":
    main()
