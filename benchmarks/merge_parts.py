"""Add up a capstone evaluation run in parts (``benchmarks/capstone.py --first-image``) into one result.

AutoAttack on 1,000 test images of a deeper network takes about 3 hours on 2 CPU
cores, so it may run as five parts of 200 images. Each part's JSON names its first
image; this script checks that the parts evaluate the same model (same settings,
mode and clean accuracy) on disjoint, consecutive image ranges, and writes each
attack's accuracy over all the images (survivors added up, not averages of
averages), with the summed seconds:

    .venv/bin/python benchmarks/merge_parts.py --name capstone_trades_smallcnn_avg-autoattack1000 \\
        artifacts/benchmarks/capstone_trades_smallcnn_avg-autoattack200-full.json \\
        artifacts/benchmarks/capstone_trades_smallcnn_avg-aa200-399-full.json ...

Only measures present in every part are merged; the clean accuracy (whole test split) is kept as it is.
AutoAttack's ``found_by`` counts (the images each of its attacks broke first) are added up when every part
has them.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import common  # noqa: I001  (first: it imports helpers, which must come before TensorFlow)


def merge(parts: list[dict]) -> tuple[list[dict], dict]:
    """Rows over all the parts' images, and the shared facts (model, settings, ...), from the parts' JSON dicts.

    Raises ``ValueError`` when the parts disagree on the model (or its training seed) or their image ranges
    overlap or leave a gap.
    """
    if not parts:
        raise ValueError("no parts to merge")
    for key in ("model", "settings", "train_seconds", "clean_accuracy", "seed"):
        values = {json.dumps(p.get(key), sort_keys=True) for p in parts}
        if len(values) > 1:
            raise ValueError(f"the parts disagree on {key!r}: {sorted(values)}")
    modes = {p["environment"]["mode"] for p in parts}
    if len(modes) > 1:
        raise ValueError(f"the parts mix modes: {sorted(modes)}")
    parts = sorted(parts, key=lambda p: p.get("first_image", 0))
    ranges = []
    for p in parts:
        sizes = {r["images"] for r in p["rows"] if r["measure"] != "clean accuracy"}
        if len(sizes) != 1:
            raise ValueError(f"part {p['benchmark']!r} attacks differing numbers of images {sorted(sizes)}: "
                             "merge parts whose attacks all cover the same images")
        first = p.get("first_image", 0)
        ranges.append((first, first + sizes.pop()))
    for (_, stop), (start, _) in zip(ranges, ranges[1:]):
        if start != stop:
            raise ValueError(f"image ranges {ranges} overlap or leave a gap")
    measures = [r["measure"] for r in parts[0]["rows"] if r["measure"] != "clean accuracy"]
    common_measures = [m for m in measures if all(any(r["measure"] == m for r in p["rows"]) for p in parts)]
    rows = [next(r for r in parts[0]["rows"] if r["measure"] == "clean accuracy")]
    for measure in common_measures:
        found = [next(r for r in p["rows"] if r["measure"] == measure) for p in parts]
        images = sum(r["images"] for r in found)
        survivors = sum(round(r["value"] * r["images"]) for r in found)
        threat = found[0]["threat model"].replace(f", {found[0]['images']} images", f", {images} images")
        row = {"measure": measure, "value": survivors / images, "images": images,
               "threat model": threat, "seconds": round(sum(r["seconds"] for r in found), 1), "parts": len(found)}
        if all("found_by" in r and "misclassified_clean" in r for r in found):   # AutoAttack's images by the
            for p, r in zip(parts, found):                                      # attack that broke them first
                standing = r["images"] - r["misclassified_clean"] - sum(r["found_by"].values())
                if round(r["value"] * r["images"]) != standing:
                    raise ValueError(f"part {p['benchmark']!r}: {measure!r} counts do not add up to its accuracy")
            names = list(dict.fromkeys(k for r in found for k in r["found_by"]))
            row["found_by"] = {k: sum(r["found_by"].get(k, 0) for r in found) for k in names}
            row["misclassified_clean"] = sum(r["misclassified_clean"] for r in found)
        rows.append(row)
    shared = {k: parts[0][k] for k in ("model", "settings", "train_seconds", "epochs", "seed",
                                       "cost_ratio_to_standard_training", "standard_epoch_seconds",
                                       "standard_epoch_timed", "clean_accuracy", "parameters") if k in parts[0]}
    ratios = [p.get("cost_ratio_to_standard_training") for p in parts]
    if len(set(ratios)) > 1:      # each part timed its own standard epoch (a model trained before they were kept)
        for key in ("cost_ratio_to_standard_training", "standard_epoch_seconds", "standard_epoch_timed"):
            shared.pop(key, None)
        shared["cost_ratio_to_standard_training_by_part"] = ratios
    shared["reported_robust_accuracy"] = min(r["value"] for r in rows[1:])
    shared["image_range"] = [ranges[0][0], ranges[-1][1]]
    shared["parts"] = [{"benchmark": p["benchmark"], "date": p["environment"]["date"], "images": list(r)}
                       for p, r in zip(parts, ranges)]
    return rows, shared


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True, help="the merged result's name (artifacts/benchmarks/<name>-<mode>)")
    parser.add_argument("parts", nargs="+", type=Path, help="the parts' JSON files")
    args = parser.parse_args()
    parts = [json.loads(path.read_text()) for path in args.parts]
    rows, shared = merge(parts)
    mode = parts[0]["environment"]["mode"]
    if mode != common.config.mode():
        parser.error(f"the parts ran in {mode} mode; merge them in the same mode (ADVLAB_QUICK)")
    first, stop = shared["image_range"]
    note = (f"{shared['model']}: test images {first}..{stop - 1} evaluated in {len(parts)} parts "
            f"({', '.join(p['benchmark'] for p in shared['parts'])}); seconds are the parts' sums. "
            f"Reported robust accuracy (the lowest of all attacks): {shared['reported_robust_accuracy']:.2%}.")
    note += common.found_by_note(rows)
    common.write_results(args.name, rows, shared, note)


if __name__ == "__main__":
    main()
