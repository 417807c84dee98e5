"""benchmarks/report.py: every results table is rendered from benchmarks/results/, and the committed ones match."""
import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import report


def test_every_committed_table_matches_what_the_results_say():
    diffs = report.stale(report.render_all())
    assert not diffs, ("a committed table differs from benchmarks/results/ (run `python benchmarks/report.py "
                       "--write`):\n" + "\n".join(diffs.values()))


@pytest.fixture
def results_copy(tmp_path):
    folder = tmp_path / "results"
    shutil.copytree(report.RESULTS, folder)
    return folder


def test_a_changed_result_changes_its_table_and_the_check_catches_it(results_copy, tmp_path):
    path = results_copy / "capstone_trades_smallcnn_avg12_shift-apgd1000-full.json"
    result = json.loads(path.read_text())
    apgd = next(r for r in result["rows"] if r["measure"].startswith("ART Auto-PGD"))
    apgd["value"] = 0.4321
    path.write_text(json.dumps(result))
    tables = report.render_all(results_copy)
    assert "43.2%" in tables["capstone"]
    committed = tmp_path / "page.md"
    committed.write_text("intro\n<!-- report:capstone -->\n" + report.render_all()["capstone"]
                         + "<!-- /report:capstone -->\nend\n")
    diffs = report.stale(tables, {committed: ("capstone",)})
    assert committed in diffs and "43.2%" in diffs[committed]
    committed.write_text(report.fill(committed.read_text(), tables))
    assert report.stale(tables, {committed: ("capstone",)}) == {}
    assert committed.read_text().startswith("intro\n") and committed.read_text().endswith("end\n")


def test_a_page_without_its_markers_or_with_an_unknown_one_is_reported(tmp_path):
    tables = report.render_all()
    page = tmp_path / "page.md"
    page.write_text("no markers here\n")
    assert "missing the markers of headline" in report.stale(tables, {page: ("headline",)})[page]
    with pytest.raises(KeyError, match="no table named 'nonsense'"):
        report.fill("<!-- report:nonsense -->\nx\n<!-- /report:nonsense -->\n", tables)


def test_figures_whose_json_was_not_kept_are_marked_wherever_they_appear():
    tables = report.render_all()
    not_kept = json.loads((report.RESULTS / "not_kept.json").read_text())
    for row in not_kept["tables"]["capstone_before_kept"]["rows"]:
        line = next(line for line in tables["capstone"].splitlines() if line.startswith(f"| {row['model']}"))
        assert report.NOT_KEPT in line and "not kept" in line
    nsl = [line for line in tables["headline"].splitlines() if "NSL, eps 0.2" in line]
    assert len(nsl) == 3 and all(report.NOT_KEPT in line for line in nsl)
    assert report.NOT_KEPT_NOTE in tables["lessons_not_kept"]


def test_the_capstone_table_has_one_row_per_model_and_seed_joining_its_autoattack_run():
    runs = report.capstone_runs(report.load_results())
    keys = [(r["model"], r["seed"], r["again"]) for r in runs]
    assert len(keys) == len(set(keys))
    shifted = next(r for r in runs if r["model"] == "capstone_trades_smallcnn_avg12_shift" and not r["seed"]
                   and not r["again"])
    stem, result = shifted["autoattack"]
    assert report._image_range(result) == (0, 1000)            # the merge of five parts, not one of them
    assert any(r["seed"] == "seed1" for r in runs)


def test_trace_finds_kept_figures_and_reports_the_others():
    traced, untraced = report.trace("AutoAttack kept 92.7% and 92.17%; the leaderboard 92.81%; made up 12.34%")
    assert traced == ["92.7", "92.17", "92.81"] and untraced == ["12.34"]


def test_the_lessons_table_lists_every_notebook_with_its_quick_minutes():
    notebooks = sorted(p.stem for p in (report.ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert notebooks == list(report.LESSONS)
    minutes, provenance = report.notebook_minutes()
    assert set(minutes) == set(report.LESSONS) and "commit" in provenance


def test_the_full_minutes_come_from_the_lesson_times_json_and_mark_what_still_trains(tmp_path, monkeypatch):
    for kept in report.RESULTS.iterdir():
        if kept.is_file():
            shutil.copy(kept, tmp_path / kept.name)
    (tmp_path / "lesson_times-full-mode.json").write_text(json.dumps({"mode": "full", "lessons": {
        "04": {"seconds": 126.0, "trained": [], "measured": "2026-12-07", "error": None},
        "09": {"seconds": 600.0, "trained": ["capstone_wide"], "measured": "2026-12-07", "error": None},
        "05": {"seconds": 60.0, "trained": [], "measured": "2026-12-07", "error": "cell 3: ValueError: x"}}}))
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")[-1].strip(" |")
            for line in report.render_lessons({}, json.loads((tmp_path / "not_kept.json").read_text()), {})
            .splitlines() if line[:3].strip("| ").isdigit()}
    assert rows["04"] == "2.1" and rows["09"] == "10.0 ‡"
    assert rows["05"].endswith(report.NOT_KEPT) and rows["02"].endswith(report.NOT_KEPT)   # a stopped run is not a time


def test_the_capacity_table_gives_a_sizing_rule_from_its_rows(tmp_path, monkeypatch):
    row = {"lesson": "05", "students": 1, "wall_s": 150.0, "slowest_student_s": 150.0, "kernel_cpu_s": 120.0,
           "per_student_cpu_s": 120.0, "peak_kernel_mb": 1100, "hub_cpu_s": 1.2, "servers_cpu_s": 3.0, "failures": []}
    light = dict(row, lesson="03", students=4, kernel_cpu_s=160.0, per_student_cpu_s=40.0, peak_kernel_mb=900)
    (tmp_path / "hub_capacity-quick.json").write_text(json.dumps(
        {"rows": [row, light], "cores": 2, "memory_gb": 8.0, "environment": {"date": "2026-12-07 22:00:00"}}))
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    text = report.render_hub_capacity({}, {}, {})
    assert "| 05 | 1 | 2.5 | 2.5 | 120 | 1100 |" in text and "| 03 | 4 |" in text
    assert "**6 cores**" in text                                     # 30 students x 120 CPU-s in 600 s
    assert "**43 GB**" in text                                       # 30 x 1100 MB x 1.25, plus 2 GB
    assert "20 minutes" in text and "ADVLAB_HUB_IDLE_KERNEL_S=1200" in text
