"""PGD-40 over the test set: our implementation against the Adversarial Robustness Toolbox's, same model.

L-inf eps 0.3, step 0.01, 40 steps, one random start, batch 500, on the zoo's
``base`` model. Also times the floor for any 40-step attack: 40 forward and
backward passes (gradient with respect to the input) over the same images.
The machine is shared, so the floor and ours run ``--repeats`` times,
interleaved, and each keeps its fastest run; ART runs once (the slowest by
far, so one run is enough for the ratio).

    ADVLAB_DATA_DIR=/path/to/mnist .venv/bin/python benchmarks/attack_speed.py [--images N]
"""
import argparse
import time

import common  # first: it imports helpers, which must come before TensorFlow
import tensorflow as tf
from helpers import attacks, data, evaluation, referee, zoo

EPS, STEP, STEPS, BATCH = 0.3, 0.01, 40, 500


def _time(fn, warm_up):
    warm_up()  # traces and compiles on one batch, so the timing is of the work alone
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=None, help="number of test images (default: the whole split)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of the floor and of ours (fastest kept)")
    args = parser.parse_args()
    model = zoo.get("base")
    x, y = data.load_normalized("test", limit=args.images)

    @tf.function(reduce_retracing=True)
    def forward_backward(xb, yb):
        with tf.GradientTape() as tape:
            tape.watch(xb)
            loss = tf.keras.losses.sparse_categorical_crossentropy(yb, model(xb, training=False), from_logits=True)
        return tape.gradient(loss, xb)

    batches = [(tf.constant(x[i:i + BATCH]), tf.constant(y[i:i + BATCH])) for i in range(0, len(x), BATCH)]

    def floor(todo=batches):
        for xb, yb in todo:
            for _ in range(STEPS):
                g = forward_backward(xb, yb)
        return g.numpy()

    def ours(n=len(x)):
        return evaluation.attack_all(model, x[:n], y[:n], lambda m, xb, yb: attacks.pgd(
            m, xb, yb, eps=EPS, steps=STEPS, step_size=STEP), batch_size=BATCH, progress=False)

    art_attack = referee.pgd_attack(model, eps=EPS, step_size=STEP, steps=STEPS, restarts=1, batch_size=BATCH)

    def theirs(n=len(x)):
        return art_attack(x[:n], y[:n])

    floor(batches[:1])  # warm-ups: trace and compile on one batch, so the timings are of the work alone
    ours(BATCH)
    t_floor, t_ours = [], []
    for _ in range(args.repeats):
        t_floor.append(_time(floor, lambda: None)[1])
        x_ours, seconds = _time(ours, lambda: None)
        t_ours.append(seconds)
    t_floor, t_ours = min(t_floor), min(t_ours)
    x_art, t_art = _time(theirs, lambda: theirs(BATCH))
    acc_ours, acc_art = evaluation.accuracy(model, x_ours, y), evaluation.accuracy(model, x_art, y)
    rows = [
        {"what": "40 forward+backward passes (floor)", "seconds": t_floor, "ratio to floor": 1.0,
         "robust accuracy": ""},
        {"what": "ours: helpers.attacks.pgd", "seconds": t_ours, "ratio to floor": t_ours / t_floor,
         "robust accuracy": acc_ours},
        {"what": "ART 1.20.1 ProjectedGradientDescent", "seconds": t_art, "ratio to floor": t_art / t_floor,
         "robust accuracy": acc_art},
    ]
    note = (f"PGD-{STEPS}, L-inf eps {EPS}, step {STEP}, 1 random start, batch {BATCH}, {len(x):,} test images, "
            f"zoo model 'base'. ART / ours = {t_art / t_ours:.2f}x; ours / floor = {t_ours / t_floor:.2f}x. "
            f"Floor and ours: fastest of {args.repeats} interleaved runs; ART: one run; "
            "all after a warm-up on one batch.")
    common.write_results("attack_speed", rows, {"art_over_ours": t_art / t_ours, "ours_over_floor": t_ours / t_floor,
                                                "images": len(x)}, note)


if __name__ == "__main__":
    main()
