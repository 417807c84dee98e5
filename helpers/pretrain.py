"""Train every model the lessons need, ahead of a class: ``python -m helpers.pretrain [--mode quick|full|both]``.

``make models`` runs it for quick mode (about 10 minutes on a 2-core CPU), ``make models-full`` for both
modes (hours: full MNIST, set ``ADVLAB_DATA_DIR``) and then ``--ship``: it rewrites ``shipped_models/``, the
full-mode models the course ships (weights only) and their table. Models already saved are skipped, so it
can be stopped and started again. Set ``ADVLAB_ARTIFACTS`` to the folder the class will read (see README,
"Teaching a class").
"""
from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.pretrain", description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("quick", "full", "both"), default="quick",
                        help="which mode's models to train (default: quick)")
    parser.add_argument("--only", nargs="*", metavar="NAME", help="train only these zoo models")
    parser.add_argument("--list", action="store_true", help="list the models and whether each is stored, then stop")
    parser.add_argument("--record-times", action="store_true",
                        help="after training, write each model's training seconds into helpers/train_seconds.json "
                             "(the expected waits the lessons announce; run on a 2-core machine)")
    parser.add_argument("--ship", action="store_true",
                        help="after full-mode training, rewrite shipped_models/ with every lesson model that is "
                             "shipped (lessons 02-08) and its table")
    args = parser.parse_args(argv)

    import helpers  # noqa: F401  (before TensorFlow)
    from helpers import config, zoo

    for mode in ("quick", "full") if args.mode == "both" else (args.mode,):
        os.environ["ADVLAB_QUICK"] = "1" if mode == "quick" else "0"
        wanted = args.only or zoo.lesson_models(mode)
        unknown = sorted(set(wanted) - set(zoo.names()))
        if unknown:
            parser.error(f"unknown model(s) {', '.join(unknown)}; the zoo knows {', '.join(zoo.names())}")
        print(f"{mode} mode: {len(wanted)} models, artifacts {os.pathsep.join(map(str, config.artifacts_dirs()))}")
        if args.list:
            for name in wanted:
                print(f"  {name:32s} {'stored' if zoo.is_stored(name) else 'not trained yet'}")
            continue
        outcome = zoo.pretrain(wanted)
        for name, what in outcome.items():
            print(f"  {name:32s} {what}")
        if "not saved" in outcome.values():
            return 1
        if args.record_times:
            print(f"recorded {len(zoo.record_train_seconds(mode))} training times in {zoo.TRAIN_SECONDS}")
        if args.ship and mode == "full":
            ship_all(args.only or zoo.shipped_models(), prune=not args.only)
    return 0


def ship_all(names: list[str], *, prune: bool = True) -> None:
    """Ship ``names`` (full mode) and rewrite the shipped table; with ``prune``, other models there are removed."""
    from helpers import zoo

    kept = set()
    for name in names:
        row = zoo.ship(name)
        kept.add(row["file"][: -len(".npz")])
        robust = ("not attacked" if row["robust_shipped"] is None
                  else f"{row['robust_float32']:.1%} -> {row['robust_shipped']:.1%} at eps {row['eps']:g}")
        print(f"  shipped {name:26s} {row['dtype']}, {row['bytes'] / 1e3:.0f} kB, clean "
              f"{row['clean_float32']:.2%} -> {row['clean_shipped']:.2%}, robust {robust}", flush=True)
    for stale in zoo.SHIPPED_DIR.glob("*-full-*.*") if prune else ():
        if stale.stem not in kept and stale.suffix in (".npz", ".json"):
            stale.unlink()
    table = zoo.SHIPPED_DIR / "README.md"
    table.write_text(zoo.shipped_table())
    print(f"wrote {table}")


if __name__ == "__main__":
    sys.exit(main())
