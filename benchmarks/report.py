"""Render every results table from the JSON files in ``benchmarks/results/``, and check the committed ones.

Each table lives in a Markdown file between two markers, ``<!-- report:NAME -->`` and ``<!-- /report:NAME -->``
(README.md's headline, benchmarks/README.md's full tables, experiments/capstone/README.md's research table).
Only this script writes between them, so no figure is typed by hand and none can drift from its JSON:

    .venv/bin/python benchmarks/report.py            # check: exit 1, with a diff, when a committed table differs
    .venv/bin/python benchmarks/report.py --write    # render the tables into the files
    .venv/bin/python benchmarks/report.py --trace OLD.md   # which percentages of OLD.md a kept JSON or
                                                           # not_kept.json holds, and which none does

Sources: every ``*-full.json`` a benchmark wrote and a person copied into ``benchmarks/results/``;
``not_kept.json``, the figures whose run's JSON was lost, transcribed from README.md and marked † wherever they
appear; ``leaderboard.json``, the AutoAttack leaderboard entries we compare with, with the attacks they ran.
It reads JSON only (no TensorFlow), so the check takes a second.
"""
from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
TARGETS = {                      # file -> the tables it holds
    ROOT / "README.md": ("lessons", "headline"),
    ROOT / "benchmarks" / "README.md": ("capstone", "autoattack_parts", "square_gap", "lessons_not_kept",
                                       "benchmarks_not_kept"),
    ROOT / "experiments" / "capstone" / "README.md": ("capstone",),
    ROOT / "docs" / "instructor.md": ("lesson_numbers", "hub_capacity"),
}
NOT_KEPT = "†"
NOT_KEPT_NOTE = (f"{NOT_KEPT} JSON not kept: transcribed from README.md at commit 70f54c4 "
                 "(`benchmarks/results/not_kept.json`); rerun its benchmark to measure it again.")
_MARKER = re.compile(r"(<!-- report:(?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- /report:(?P=name) -->)", re.S)


# --------------------------------------------------------------------------- reading the results

def load_results(folder: Path = RESULTS) -> dict[str, dict]:
    """Every kept benchmark result in ``folder``: file stem (``NAME-full``) -> its JSON dict."""
    found = {}
    for path in sorted(folder.glob("*-full.json")):
        found[path.stem] = json.loads(path.read_text())
    return found


def _rows(result: dict) -> dict[str, dict]:
    return {row["measure"]: row for row in result["rows"]}


def _find(rows: dict[str, dict], prefix: str) -> dict | None:
    return next((row for measure, row in rows.items() if measure.startswith(prefix)), None)


def model_and_tag(stem: str) -> tuple[str, str]:
    """``capstone_x-seed1-apgd1000-full`` -> ``("capstone_x", "seed1-apgd1000")``."""
    name = stem.removesuffix("-full")
    model, _, tag = name.partition("-")
    return model, tag


def pct(value: float | None, images: int | None = None, full: int = 1000, digits: int = 1) -> str:
    """``0.9385`` -> ``"93.9%"``; the number of images is added when it is not ``full``."""
    if value is None:
        return ""
    text = f"{100 * value:.{digits}f}%"
    return text if images in (None, full) else f"{text} ({images:,})"


def _image_range(result: dict) -> tuple[int, int]:
    if "image_range" in result:
        return tuple(result["image_range"])
    first = result.get("first_image", 0)
    sizes = [r["images"] for r in result["rows"] if r["measure"] != "clean accuracy"]
    return first, first + (max(sizes) if sizes else 0)


def capstone_runs(results: dict[str, dict]) -> list[dict]:
    """One entry per trained capstone-family model: its Auto-PGD run and its widest AutoAttack run.

    A trained model is its name, seed and training time (a model trained again is another entry, ``again`` set
    to its evaluation date). Its row joins its ``apgd`` run (clean, PGD-100x5, Auto-PGD, and APGD-T with the
    lowest of all when run) with the AutoAttack run that covers most images from image 0 (a merge of parts, or
    one part); parts of a merge and separate re-runs (``by-attack``) are listed by :func:`autoattack_parts`.
    """
    groups: dict[tuple, dict] = {}
    for stem, result in results.items():
        model, tag = model_and_tag(stem)
        if not model.startswith("capstone"):
            continue
        seed = tag.split("-")[0] if tag.startswith("seed") else ""
        key = (model, seed, result.get("train_seconds"))
        entry = groups.setdefault(key, {"model": model, "seed": seed, "apgd": None, "autoattack": None,
                                        "date": result["environment"]["date"], "again": ""})
        entry["date"] = min(entry["date"], result["environment"]["date"])
        rows = _rows(result)
        if _find(rows, "ART Auto-PGD") and not _find(rows, "ART AutoAttack"):
            entry["apgd"] = (stem, result)
        elif _find(rows, "ART AutoAttack") and "by-attack" not in tag:
            start, stop = _image_range(result)
            best = entry["autoattack"]
            if start == 0 and (best is None or stop > _image_range(best[1])[1]):
                entry["autoattack"] = (stem, result)
    runs = sorted((e for e in groups.values() if e["apgd"] or e["autoattack"]),
                  key=lambda e: (e["model"], e["seed"], e["date"]))
    for earlier, later in zip(runs, runs[1:]):
        if (earlier["model"], earlier["seed"]) == (later["model"], later["seed"]):
            later["again"] = later["date"][:10]
    return runs


# --------------------------------------------------------------------------- rendering

def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


CAPSTONE_HEADER = ["model", "training", "clean", "PGD-100×5 CE", "PGD-100×5 margin", "strongest PGD",
                   "ART Auto-PGD ×5", "ART APGD-T", "lowest of all, per image", "ART AutoAttack",
                   "strongest PGD on the AutoAttack images", "result files"]


def capstone_rows(results: dict[str, dict], not_kept: dict) -> list[list[str]]:
    rows = []
    for run in capstone_runs(results):
        source = run["apgd"] or run["autoattack"]
        stem, result = source
        measures = _rows(result)
        label = f"`{run['model']}`" + (f", trained again with `ADVLAB_SEED={run['seed'][4:]}`" if run["seed"] else "")
        label += f", trained again on {run['again']}" if run["again"] else ""
        ratio = result.get("cost_ratio_to_standard_training")
        training = f"{result['train_seconds']:,.0f} s" + (f", {ratio:.1f}×" if ratio else "")

        def cell(prefix, rows_=measures):
            row = _find(rows_, prefix)
            return pct(row["value"], row["images"]) if row else ""

        apgd = cell("ART Auto-PGD") if run["apgd"] else ""
        aa = aa_pgd = ""
        files = [stem]
        if run["autoattack"]:
            aa_stem, aa_result = run["autoattack"]
            aa_rows = _rows(aa_result)
            aa, aa_pgd = cell("ART AutoAttack", aa_rows), cell("strongest PGD on the AutoAttack", aa_rows)
            files.append(aa_stem)
        rows.append([label, training, pct(result["clean_accuracy"], digits=2), cell("PGD-100x5 (ce)"),
                     cell("PGD-100x5 (margin)"), cell("strongest PGD (worst"), apgd, cell("ART APGD-T"),
                     cell("lowest of all"), aa, aa_pgd,
                     ", ".join(f"`{f}`" for f in files)])
    for old in not_kept["tables"]["capstone_before_kept"]["rows"]:
        rows.append([f"{old['model']} {NOT_KEPT}", old["training"], old["clean"], old["PGD-100×5 CE"],
                     old["PGD-100×5 margin"], old["strongest PGD"], old["ART Auto-PGD ×5"], "", "",
                     old["ART AutoAttack"],
                     "", "not kept"])
    return rows


def render_capstone(results, not_kept, leaderboard) -> str:
    text = ("Full mode, full MNIST, L-inf eps 0.3. Clean: all 10,000 test images. Attacks: the first 1,000 test "
            "images unless a cell gives another count in brackets. PGD-100×5: 100 steps of 2.5·eps/100, 5 random "
            "restarts, cross-entropy or margin loss; strongest PGD: an image counts as robust only if it survives "
            "both. ART Auto-PGD ×5: ART 1.20.1's APGD, cross-entropy then DLR, 100 iterations, 5 restarts each. "
            "ART APGD-T: targeted APGD as in the AutoAttack leaderboard's standard version (ART 1.20.1's targeted "
            "DLR loss, each of the 9 classes with the highest clean logits as target, 100 iterations, 1 restart "
            "each); lowest of all: an image counts as robust only if every attack of its row left it standing. "
            "ART AutoAttack: ART 1.20.1's default AutoAttack (APGD-CE, APGD-DLR, DeepFool, Square), run in parts "
            "of 200 images and merged. Training: wall-clock seconds on 2 CPU cores and the ratio to an epoch of "
            "standard training of the same network (timed in the same run). The reported robust accuracy of a "
            "model is the lowest number of its row.\n\n")
    return text + markdown_table(CAPSTONE_HEADER, capstone_rows(results, not_kept)) + "\n" + NOT_KEPT_NOTE + "\n"


def render_autoattack_parts(results, not_kept, leaderboard) -> str:
    header = ["result file", "test images", "ART AutoAttack", "strongest PGD on the same images",
              "first broken by", "seconds (AutoAttack)", "date"]
    rows = []
    for stem, result in results.items():
        measures = _rows(result)
        aa = _find(measures, "ART AutoAttack")
        if not aa:
            continue
        start, stop = _image_range(result)
        ours = _find(measures, "strongest PGD on the AutoAttack")
        found = aa.get("found_by")
        broken = ", ".join(f"{k} {v}" for k, v in found.items()) if found else ""
        if found and "misclassified_clean" in aa:
            broken = f"misclassified {aa['misclassified_clean']}, " + broken
        rows.append([f"`{stem}`", f"{start}-{stop - 1}", pct(aa["value"], digits=2), pct(ours["value"], digits=2)
                     if ours else "", broken, f"{aa['seconds']:,.0f}", result["environment"]["date"][:10]])
    return ("Every kept AutoAttack run (L-inf eps 0.3, ART 1.20.1 defaults), parts and merges "
            "(`benchmarks/merge_parts.py`) alike.\n\n" + markdown_table(header, rows))


def render_square_gap(results, not_kept, leaderboard) -> str:
    header = ["result file", "model", "measure", "value", "images", "threat model", "seconds"]
    rows = []
    for stem, result in results.items():
        if not stem.startswith("square_gap"):
            continue
        for row in result["rows"]:
            value = row["value"]
            rows.append([f"`{stem}`", f"`{row.get('model', '')}`", row["measure"], pct(value, digits=2),
                         f"{row['images']:,}", row["threat model"], f"{row['seconds']:,.0f}"])
    return ("`benchmarks/square_gap.py`, full mode: the share of input pixels whose loss gradient is exactly 0 at "
            "the clean image, our strongest PGD, then ART's Square attack on the images PGD leaves standing.\n\n"
            + markdown_table(header, rows))


def _not_kept_tables(not_kept: dict, names: tuple[str, ...]) -> str:
    parts = []
    for name in names:
        table = not_kept["tables"][name]
        rows = [[row[c] for c in table["columns"]] for row in table["rows"]]
        parts.append(f"**{name.replace('_', ' ').capitalize()}** {NOT_KEPT} (measured {table['measured']}; "
                     f"`{table['command']}`). {table['what']}\n\n" + markdown_table(table["columns"], rows))
    return "\n".join(parts) + "\n" + NOT_KEPT_NOTE + "\n"


def render_lessons_not_kept(results, not_kept, leaderboard) -> str:
    return _not_kept_tables(not_kept, ("clean_accuracy", "full_evaluation", "batchnorm"))


def render_benchmarks_not_kept(results, not_kept, leaderboard) -> str:
    return _not_kept_tables(not_kept, ("attack_speed", "training_cost", "distillation"))


def champion_run(results: dict[str, dict], leaderboard: dict) -> dict:
    """The champion's training run with the widest AutoAttack run, and its training run with the widest
    "lowest of all" (every attack, per image) row, when one was kept."""
    champion = leaderboard["our_champion"]
    runs = [e for e in capstone_runs(results) if e["model"] == champion and not e["seed"]]
    with_aa = max((e for e in runs if e["autoattack"]), key=lambda e: _image_range(e["autoattack"][1])[1])
    lowest = None
    for run in runs:
        row = _find(_rows(run["apgd"][1]), "lowest of all") if run["apgd"] else None
        if row and (lowest is None or row["images"] > lowest[2]["images"]):
            lowest = (run, run["apgd"], row)
    return {"run": with_aa, "lowest": lowest}


def render_headline(results, not_kept, leaderboard) -> str:
    full_eval = {(r["model"], r["eps"]): r for r in not_kept["tables"]["full_evaluation"]["rows"]}
    nsl = full_eval[("nsl", "0.2")]
    seed_rows = [["the seed tutorial's table: its attack, crafted on the undefended model", "NSL, eps 0.2",
                  nsl["seed attack"].strip("*") + f" {NOT_KEPT}", "10,000"],
                 ["white-box: our strongest PGD (PGD-100×5, CE and margin)", "NSL, eps 0.2",
                  nsl["strongest PGD"].strip("*") + f" {NOT_KEPT}", "1,000"],
                 ["white-box: ART Auto-PGD (CE then DLR)", "NSL, eps 0.2",
                  nsl["ART Auto-PGD (300)"].strip("*") + f" {NOT_KEPT}", "300"]]
    champ = champion_run(results, leaderboard)
    aa_stem, aa_result = champ["run"]["autoattack"]
    aa = _find(_rows(aa_result), "ART AutoAttack")
    board = [[f"this collection's best, `{leaderboard['our_champion']}` ({aa_result['parameters']:,} parameters, "
              f"{aa_result['train_seconds'] / 60:.0f} min on 2 CPU cores)", pct(aa_result["clean_accuracy"], digits=2),
              pct(aa["value"], digits=1), f"ART AutoAttack defaults: APGD-CE, APGD-DLR, DeepFool, Square; "
              f"{aa['images']:,} images (`{aa_stem}`)"]]
    if champ["lowest"]:
        run, (stem, result), row = champ["lowest"]
        which = f"the same recipe trained again ({run['again']})" if run["again"] else "the same model"
        board.append([f"{which}: every attack we ran, an image robust only if it survives all",
                      pct(result["clean_accuracy"], digits=2), pct(row["value"], digits=1),
                      f"{row['threat model']} (`{stem}`)"])
    for entry in leaderboard["entries"]:
        board.append([entry["entry"], pct(entry.get("clean"), digits=2) if entry.get("clean") else "",
                      pct(entry["autoattack"], digits=2), entry["attacks"]])
    return ("**What a defence really buys** (lesson 05; full mode, full MNIST, L-inf; robust accuracy):\n\n"
            + markdown_table(["attack", "model", "robust accuracy", "images"], seed_rows)
            + f"\n**The capstone beside the AutoAttack leaderboard** (lesson 09; MNIST, L-inf eps 0.3; the "
              f"leaderboard's figures from [RobustBench]({leaderboard['source']}), as listed there):\n\n"
            + markdown_table(["model", "clean", "robust accuracy", "attacks, images"], board)
            + f"\n{NOT_KEPT_NOTE} Every table: [benchmarks/README.md](benchmarks/README.md).\n")


# The course's lessons: notebook stem -> what it teaches, in a line (the lessons' own first cells say more).
LESSONS = {
    "01_data_preparation": "MNIST offline or through `tensorflow_datasets`, pixels in [0, 1], batches, "
                           "NSL's feature dicts",
    "02_base_model": "the NSL tutorial's CNN in three Keras APIs, trained and inspected",
    "03_adversarial_examples": "the input gradient, FGSM in five lines, PGD, targeted attacks",
    "04_adversarial_wrapper": "NSL's adversarial regularisation, and adversarial training written by hand, done right",
    "05_robustness_evaluation": "why the tutorial's table misleads: transfer versus white-box attacks, the checklist, "
                                "a referee",
    "06_visualization": "adversarial digits, perturbations, gradients and the loss landscape, in pictures",
    "07_defensive_distillation": "gradient masking: distillation stops FGSM and PGD, not Carlini-Wagner or EAD",
    "08_batchnorm_pitfall": "why adversarial fine-tuning with BatchNormalization can stick at chance, and four fixes",
    "09_robust_model": "the capstone: PGD, fast and TRADES training, evaluated like a reviewer",
}


def notebook_minutes(folder: Path = RESULTS) -> tuple[dict[str, str], str]:
    """Quick-mode minutes per lesson from ``notebook_times-quick.md`` (written by ``notebook_times.py``), and its
    first line of provenance (date, commit, machine)."""
    text = (folder / "notebook_times-quick.md").read_text()
    minutes = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) > 3 and cells[0] in LESSONS:
            minutes[cells[0]] = cells[2]
    provenance = next(line for line in text.splitlines() if line.startswith("Generated"))
    return minutes, provenance


def lesson_times(mode: str = "full", folder: Path | None = None) -> dict:
    """``lesson_times-<mode>-mode.json`` (``benchmarks/lesson_times.py``), or ``{}`` when none was kept."""
    path = (folder or RESULTS) / f"lesson_times-{mode}-mode.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def full_mode_minutes(seconds: float) -> str:
    """How a lesson's overview says its measured full-mode time: "under a minute", "about a minute",
    "about 5 minutes" (``tests/test_notebooks.py`` holds every overview to ``lesson_times-full-mode.json``)."""
    if seconds < 45:
        return "under a minute"
    minutes = max(1, round(seconds / 60))
    return "about a minute" if minutes == 1 else f"about {minutes} minutes"


def render_lessons(results, not_kept, leaderboard) -> str:
    quick, _ = notebook_minutes()
    first_run = {row["lesson"]: row["minutes, full mode"] for row in not_kept["tables"]["lesson_minutes_full"]["rows"]}
    timed = lesson_times("full")
    rows = []
    for stem, what in LESSONS.items():
        number = stem[:2]
        row = timed.get("lessons", {}).get(number)
        if row and not row.get("error"):
            minutes_full = f"{row['seconds'] / 60:.1f}" + (" ‡" if row["trained"] or row.get("trained_in_lesson")
                                                           else "")
        else:
            minutes_full = first_run.get(number, "")
            minutes_full = f"{minutes_full} {NOT_KEPT}" if minutes_full[:1].isdigit() else minutes_full
        rows.append([number, f"[{stem[3:].replace('_', ' ')}](notebooks/{stem}.ipynb)", what, quick.get(stem, ""),
                     minutes_full])
    measured = sorted({r["measured"] for r in timed.get("lessons", {}).values()})
    full_note = (f"Full: all of MNIST, each lesson alone in a fresh kernel with only the models that ship with the "
                 f"course (`shipped_models/`), on 2 CPU cores (`benchmarks/lesson_times.py`, "
                 f"[benchmarks/results/lesson_times-full-mode.json](benchmarks/results/lesson_times-full-mode.json), "
                 f"measured {', '.join(measured)}); ‡: trains a model, by its own code (the lesson's subject) or "
                 f"through the zoo (the JSON names them). {NOT_KEPT}: not timed that way yet: the first run, "
                 f"training every model, measured "
                 f"{not_kept['tables']['lesson_minutes_full']['measured']} and not kept as JSON, see "
                 "[benchmarks/README.md](benchmarks/README.md).") if measured else (
                 "Full: all of MNIST, training its models the first time, on 2 CPU cores "
                 f"(measured {not_kept['tables']['lesson_minutes_full']['measured']}). {NOT_KEPT}: not kept as JSON, "
                 "see [benchmarks/README.md](benchmarks/README.md).")
    return (markdown_table(["#", "lesson", "what you learn", "minutes, quick", "minutes, full"], rows)
            + "\nQuick: the shipped sample, every model trained ahead (`make models`), on 2 CPU cores "
              "([benchmarks/results/notebook_times-quick.md](benchmarks/results/notebook_times-quick.md) says "
              f"when and how). {full_note}\n")


def render_lesson_numbers(results, not_kept, leaderboard) -> str:
    """What each lesson measured in one quick-mode run, from ``lesson_numbers-quick.json``
    (``benchmarks/lesson_numbers.py``)."""
    data = json.loads((RESULTS / "lesson_numbers-quick.json").read_text())
    lines = [f"Measured by `benchmarks/lesson_numbers.py` ({data['mode']} mode, {data['measured']}): each lesson's "
             "Summary printed these lines. A class run differs a little (random starts, the machine); a number far "
             "from these is worth a look.", ""]
    for number, lesson in data["lessons"].items():
        lines.append(f"**{lesson['title']}**")
        lines.append("")
        lines += [f"- {point}" for point in lesson["points"]] or ["- (no numbers printed)"]
        lines.append("")
    return "\n".join(lines)


# The class a course server is sized for, and the time it should take all of them to run a lesson at once.
CLASS_SIZE, CLASS_RUN_S = 30, 600


def _culler_defaults() -> tuple[int, int]:
    """The idle timeouts (kernel, server) in seconds that classroom/jupyterhub_config.py sets by default."""
    text = (ROOT / "classroom" / "jupyterhub_config.py").read_text()
    kernel = re.search(r'IDLE_KERNEL_S = int\(os.environ.get\("ADVLAB_HUB_IDLE_KERNEL_S", "(\d+)"\)\)', text)
    server = re.search(r'IDLE_SERVER_S = int\(os.environ.get\("ADVLAB_HUB_IDLE_SERVER_S", "(\d+)"\)\)', text)
    return int(kernel[1]), int(server[1])


def render_hub_capacity(results, not_kept, leaderboard) -> str:
    """The capacity table of ``hub_capacity-quick.json`` (``benchmarks/hub_capacity.py``) and the sizing rule
    derived from it, for docs/instructor.md."""
    import math

    path = RESULTS / "hub_capacity-quick.json"
    if not path.is_file():
        return "No capacity run is kept yet: `sudo .venv/bin/python benchmarks/hub_capacity.py` measures one.\n"
    data = json.loads(path.read_text())
    rows = data["rows"]
    table = markdown_table(
        ["lesson", "students at once", "wall, min", "slowest student, min", "kernel CPU-s per student",
         "peak kernel memory, MB", "hub CPU-s", "servers CPU-s", "failures"],
        [[r["lesson"], r["students"], f"{r['wall_s'] / 60:.1f}", f"{r['slowest_student_s'] / 60:.1f}",
          f"{r['per_student_cpu_s']:.0f}", r["peak_kernel_mb"], f"{r['hub_cpu_s']:.1f}", f"{r['servers_cpu_s']:.1f}",
          len(r["failures"])] for r in rows])
    heaviest = max(rows, key=lambda r: r["per_student_cpu_s"])
    peak_mb = max(r["peak_kernel_mb"] for r in rows)
    cores = math.ceil(CLASS_SIZE * heaviest["per_student_cpu_s"] / CLASS_RUN_S)
    memory_gb = math.ceil(CLASS_SIZE * peak_mb * 1.25 / 1024 + 2)
    hub_share = max(r["hub_cpu_s"] / max(r["kernel_cpu_s"], 1e-9) for r in rows)
    kernel_idle, server_idle = _culler_defaults()
    env = data["environment"]
    return (f"Measured by `benchmarks/hub_capacity.py` ({env['date'][:10]}, {data['cores']} cores, "
            f"{data['memory_gb']} GB, quick mode, the instructor's models shared; each student runs their own copy "
            f"of the lesson top to bottom through their server's kernel API, all starting together):\n\n" + table
            + f"\n**Sizing rule.** The heaviest lesson measured, {heaviest['lesson']}, costs "
              f"{heaviest['per_student_cpu_s']:.0f} CPU-seconds per student (TensorFlow's start included). For "
              f"{CLASS_SIZE} students running it at once to finish within {CLASS_RUN_S // 60} minutes, give the "
              f"server {CLASS_SIZE} × {heaviest['per_student_cpu_s']:.0f} / {CLASS_RUN_S} ≈ **{cores} cores**. "
              f"Memory: each kernel peaked at up to {peak_mb} MB, so {CLASS_SIZE} kernels with a quarter to spare, "
              f"plus 2 GB for the system and the hub: **{memory_gb} GB**. The hub itself (JupyterHub, its proxy, the "
              f"culler) used at most {hub_share:.1%} of the kernels' CPU. Fewer cores work, slower: the students "
              f"share them, so the wall time grows with students ÷ cores, as the rows above show.\n\n"
              f"**Freeing idle kernels.** Each student's server stops a kernel idle for {kernel_idle // 60} minutes "
              f"(`ADVLAB_HUB_IDLE_KERNEL_S={kernel_idle}`), which returns its memory, and the hub's culler stops a "
              f"server idle for {server_idle // 60} minutes (`ADVLAB_HUB_IDLE_SERVER_S={server_idle}`). On a "
              f"server with less memory than the rule asks, shorten the first (for example "
              f"`ADVLAB_HUB_IDLE_KERNEL_S=600`) before the class.\n")


RENDERERS = {"hub_capacity": render_hub_capacity, "lesson_numbers": render_lesson_numbers, "headline": render_headline,
             "lessons": render_lessons, "capstone": render_capstone, "autoattack_parts": render_autoattack_parts,
             "square_gap": render_square_gap, "lessons_not_kept": render_lessons_not_kept,
             "benchmarks_not_kept": render_benchmarks_not_kept}


def render_all(folder: Path = RESULTS) -> dict[str, str]:
    """Table name -> its Markdown, rendered from the JSON files in ``folder``."""
    results = load_results(folder)
    not_kept = json.loads((folder / "not_kept.json").read_text())
    leaderboard = json.loads((folder / "leaderboard.json").read_text())
    return {name: render(results, not_kept, leaderboard) for name, render in RENDERERS.items()}


def fill(text: str, tables: dict[str, str], where: str = "") -> str:
    """``text`` with every ``report:NAME`` block replaced by ``tables[NAME]``; an unknown name is an error."""
    def replace(match):
        name = match["name"]
        if name not in tables:
            raise KeyError(f"{where}: no table named {name!r}; known: {', '.join(tables)}")
        return match.group(1) + tables[name] + match.group(4)
    return _MARKER.sub(replace, text)


def stale(tables: dict[str, str], targets: dict[Path, tuple[str, ...]] = TARGETS) -> dict[Path, str]:
    """File -> unified diff between it and its rendered tables, for every file whose tables differ."""
    diffs = {}
    for path, names in targets.items():
        text = path.read_text() if path.exists() else ""
        present = {m["name"] for m in _MARKER.finditer(text)}
        missing = [n for n in names if n not in present]
        new = fill(text, tables, str(path))
        if missing:
            diffs[path] = f"{path}: missing the markers of {', '.join(missing)}\n"
        elif new != text:
            diffs[path] = "".join(difflib.unified_diff(text.splitlines(True), new.splitlines(True),
                                                       str(path), f"{path} (rendered)"))
    return diffs


# --------------------------------------------------------------------------- tracing old figures

_PERCENT = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)%")


def kept_values(folder: Path = RESULTS) -> set[str]:
    """Every figure a kept JSON row holds, as percentages at 0, 1 and 2 decimals, plus not_kept.json's cells."""
    found = set()
    for result in load_results(folder).values():
        values = [r["value"] for r in result["rows"]] + [result.get("clean_accuracy"),
                                                         result.get("reported_robust_accuracy")]
        for value in values:
            if isinstance(value, (int, float)):
                found |= {f"{100 * value:.{d}f}" for d in (0, 1, 2)}
    by_model: dict[str, list[tuple[int, int, int]]] = {}          # model -> AutoAttack parts (first, images, kept)
    for stem, result in load_results(folder).items():
        row = _find(_rows(result), "ART AutoAttack")
        if row and "first_image" in result and "image_range" not in result:
            by_model.setdefault(model_and_tag(stem)[0], []).append(
                (result["first_image"], row["images"], round(row["value"] * row["images"])))
    for parts in by_model.values():                               # "on the first 400": consecutive parts added up
        parts = sorted(set(parts))
        kept = images = 0
        for first, size, survivors in parts:
            if first != images:
                break
            kept, images = kept + survivors, images + size
            found |= {f"{100 * kept / images:.{d}f}" for d in (1, 2)}
    not_kept = json.loads((folder / "not_kept.json").read_text())
    for table in not_kept["tables"].values():
        for row in table["rows"]:
            for cell in row.values():
                found |= set(_PERCENT.findall(cell))
    leaderboard = json.loads((folder / "leaderboard.json").read_text())
    for entry in leaderboard["entries"]:
        found |= {f"{100 * entry[k]:.2f}" for k in ("autoattack", "clean") if entry.get(k)}
    return found


def trace(markdown: str, folder: Path = RESULTS) -> tuple[list[str], list[str]]:
    """The percentages of ``markdown`` found in a kept JSON, not_kept.json or leaderboard.json, and the others."""
    known = kept_values(folder)
    figures = _PERCENT.findall(markdown)
    return [f for f in figures if f in known], [f for f in figures if f not in known]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="render the tables into their files")
    parser.add_argument("--trace", type=Path, help="list which percentages of a Markdown file are traceable")
    args = parser.parse_args(argv)
    if args.trace:
        traced, untraced = trace(args.trace.read_text())
        print(f"{len(traced)} of {len(traced) + len(untraced)} percentages in {args.trace} are in a kept JSON, "
              f"not_kept.json or leaderboard.json; not found: {', '.join(untraced) or 'none'}")
        return 0
    tables = render_all()
    if args.write:
        for path, names in TARGETS.items():
            if path.exists():
                path.write_text(fill(path.read_text(), tables, str(path)))
        print(f"rendered {len(tables)} tables into {len(TARGETS)} files")
        return 0
    diffs = stale(tables)
    for diff in diffs.values():
        sys.stdout.write(diff)
    if diffs:
        print("\nThe committed tables differ from the results: run `python benchmarks/report.py --write`.")
        return 1
    print(f"all {sum(len(n) for n in TARGETS.values())} tables match benchmarks/results/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
