"""Add up a capstone evaluation run in parts (``benchmarks/capstone.py --first-image``) into one result.

AutoAttack on 1,000 test images of a deeper network takes about 3 hours on 2 CPU
cores, so it may run as five parts of 200 images. Each part's JSON names its first
image; this script checks that the parts evaluate the same model (same settings,
mode and clean accuracy) on consecutive image ranges (per measure: each part's
images end where the next part's begin), and writes each attack's accuracy over
all the images, with the summed seconds:

    .venv/bin/python benchmarks/merge_parts.py --name capstone_trades_smallcnn_avg-autoattack1000 \\
        artifacts/benchmarks/capstone_trades_smallcnn_avg-autoattack200-full.json \\
        artifacts/benchmarks/capstone_trades_smallcnn_avg-aa200-399-full.json ...

A part keeps, per attack, which images it broke (``robust``: ``"0110..."``, one character per image, and
AutoAttack's ``first_broken_by``): the merge concatenates those records in image order and recomputes every
accuracy and AutoAttack's ``found_by`` counts from them; a per-image worst case (a row with ``of``, e.g.
"lowest of all") is checked to be the AND of its attacks' merged records. Parts written before per-image
records were kept have only counts: their survivors are added up (not averages of averages) and the merged
row says ``"combined_from": "counts"``. Only measures present in every part are merged; the clean accuracy
(whole test split) is kept as it is.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import common  # first: it imports helpers, which must come before TensorFlow
import numpy as np

LISTS = ("first_broken_by", "broken_with_target")
"""Per-image lists a row may keep beside its ``robust`` record; concatenated like it."""


def _retitled(threat: str, images: int) -> str:
    """The threat model with its image count (``, 200 images`` or ``, 1,000 images``) set to ``images``."""
    return re.sub(r", [\d,]+ images", f", {images:,} images", threat, count=1)


def _by_counts(parts: list[dict], measure: str, found: list[dict]) -> dict:
    """A merged row from the parts' survivor counts (parts without per-image records)."""
    images = sum(r["images"] for r in found)
    survivors = sum(round(r["value"] * r["images"]) for r in found)
    row = {"measure": measure, "value": survivors / images, "images": images,
           "threat model": _retitled(found[0]["threat model"], images),
           "seconds": round(sum(r["seconds"] for r in found), 1), "parts": len(found), "combined_from": "counts"}
    if all("found_by" in r and "misclassified_clean" in r for r in found):     # AutoAttack's images by the
        for p, r in zip(parts, found):                                          # attack that broke them first
            standing = r["images"] - r["misclassified_clean"] - sum(r["found_by"].values())
            if round(r["value"] * r["images"]) != standing:
                raise ValueError(f"part {p['benchmark']!r}: {measure!r} counts do not add up to its accuracy")
        names = list(dict.fromkeys(k for r in found for k in r["found_by"]))
        row["found_by"] = {k: sum(r["found_by"].get(k, 0) for r in found) for k in names}
        row["misclassified_clean"] = sum(r["misclassified_clean"] for r in found)
    return row


def _by_image(parts: list[dict], measure: str, found: list[dict], first: int) -> dict:
    """A merged row from the parts' per-image records, concatenated in image order."""
    for p, r in zip(parts, found):
        if len(r["robust"]) != r["images"] or r.get("first_image", p.get("first_image", 0)) != p.get("first_image", 0):
            raise ValueError(f"part {p['benchmark']!r}: {measure!r} keeps {len(r['robust'])} per-image records from "
                             f"image {r.get('first_image')} for {r['images']} images from {p.get('first_image', 0)}")
    record = "".join(r["robust"] for r in found)
    mask = common.robust_mask(record)
    row = {"measure": measure, "value": float(mask.mean()), "images": len(record),
           "threat model": _retitled(found[0]["threat model"], len(record)),
           "seconds": round(sum(r["seconds"] for r in found), 1), "parts": len(found), "first_image": first,
           "robust": record}
    for key in LISTS:
        if all(key in r for r in found):
            row[key] = [v for r in found for v in r[key]]
            if len(row[key]) != len(record):
                raise ValueError(f"{measure!r}: {key} holds {len(row[key])} entries for {len(record)} images")
    if "first_broken_by" in row:
        row["found_by"], row["misclassified_clean"] = common.found_by_counts(row["first_broken_by"])
    ofs = {json.dumps(r.get("of")) for r in found}
    if len(ofs) > 1:
        raise ValueError(f"the parts' {measure!r} combine different attacks: {sorted(ofs)}")
    if found[0].get("of"):
        row["of"] = found[0]["of"]
    return row


def _check_worst_cases(rows: list[dict]) -> None:
    """Each merged per-image worst case (``of``) must be the AND of its attacks' merged records, image by image."""
    by = {r["measure"]: r for r in rows}
    for row in rows:
        parts = [by.get(m) for m in row.get("of", [])]
        if "robust" not in row or not parts or any(p is None or "robust" not in p for p in parts):
            continue
        n = row["images"]
        if any(p["images"] < n for p in parts):
            raise ValueError(f"{row['measure']!r} covers {n} images, more than its attacks {row['of']}")
        expected = np.logical_and.reduce([common.robust_mask(p["robust"])[:n] for p in parts])
        if common.robust_record(expected) != row["robust"]:
            raise ValueError(f"{row['measure']!r} is not the per-image AND of {row['of']}: a part is inconsistent")


def merge(parts: list[dict]) -> tuple[list[dict], dict]:
    """Rows over all the parts' images, and the shared facts (model, settings, ...), from the parts' JSON dicts.

    Raises ``ValueError`` when the parts disagree on the model (or its training seed), when a measure's image
    ranges overlap or leave a gap between parts, or when per-image records do not fit their counts.
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
    firsts = [p.get("first_image", 0) for p in parts]
    measures = [r["measure"] for r in parts[0]["rows"] if r["measure"] != "clean accuracy"]
    common_measures = [m for m in measures if all(any(r["measure"] == m for r in p["rows"]) for p in parts)]
    rows = [next(r for r in parts[0]["rows"] if r["measure"] == "clean accuracy")]
    for measure in common_measures:
        found = [next(r for r in p["rows"] if r["measure"] == measure) for p in parts]
        spans = [(start, start + r["images"]) for start, r in zip(firsts, found)]
        for (_, stop), (start, _) in zip(spans, spans[1:]):
            if start != stop:
                raise ValueError(f"image ranges {spans} of {measure!r} overlap or leave a gap")
        if all("robust" in r for r in found):
            rows.append(_by_image(parts, measure, found, firsts[0]))
        else:
            rows.append(_by_counts(parts, measure, found))
    _check_worst_cases(rows)
    shared = {k: parts[0][k] for k in ("model", "settings", "train_seconds", "epochs", "seed",
                                       "cost_ratio_to_standard_training", "standard_epoch_seconds",
                                       "standard_epoch_timed", "clean_accuracy", "parameters") if k in parts[0]}
    ratios = [p.get("cost_ratio_to_standard_training") for p in parts]
    if len(set(ratios)) > 1:      # each part timed its own standard epoch (a model trained before they were kept)
        for key in ("cost_ratio_to_standard_training", "standard_epoch_seconds", "standard_epoch_timed"):
            shared.pop(key, None)
        shared["cost_ratio_to_standard_training_by_part"] = ratios
    shared["reported_robust_accuracy"] = min(r["value"] for r in rows[1:]) if len(rows) > 1 else None
    ranges = [(start, start + max((r["images"] for r in p["rows"] if r["measure"] != "clean accuracy"), default=0))
              for start, p in zip(firsts, parts)]
    shared["first_image"] = firsts[0]
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
