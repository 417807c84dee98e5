"""The benchmark helpers that compute numbers of their own (not the ones that only run helpers)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import merge_parts  # noqa: E402


def _part(first, images, aa_survivors, pgd_survivors, seconds=10.0, model="m", clean=0.99):
    rows = [{"measure": "clean accuracy", "value": clean, "images": 10000, "threat model": "none", "seconds": 0.0},
            {"measure": "PGD-100x5 (ce)", "value": pgd_survivors / images, "images": images,
             "threat model": f"L-inf PGD, eps 0.3, 100 steps, 5 restarts, {images} images, ce loss", "seconds": 1.0},
            {"measure": "ART AutoAttack", "value": aa_survivors / images, "images": images,
             "threat model": "L-inf eps 0.3, ART 1.20.1 AutoAttack defaults", "seconds": seconds}]
    part = {"benchmark": f"part{first}", "environment": {"mode": "full", "date": "today"}, "rows": rows,
            "model": model, "settings": {"beta": 6.0}, "train_seconds": 100.0, "clean_accuracy": clean}
    if first:
        part["first_image"] = first
    return part


def test_merge_adds_survivors_over_all_images():
    rows, shared = merge_parts.merge([_part(200, 300, 280, 290, seconds=5.0), _part(0, 200, 188, 191)])
    by = {r["measure"]: r for r in rows}
    assert by["clean accuracy"]["value"] == 0.99 and by["clean accuracy"]["images"] == 10000
    assert by["ART AutoAttack"]["images"] == 500
    assert by["ART AutoAttack"]["value"] == pytest.approx((188 + 280) / 500)   # not the mean of 0.94 and 0.933
    assert by["ART AutoAttack"]["seconds"] == 15.0
    assert by["PGD-100x5 (ce)"]["threat model"].endswith("500 images, ce loss")
    assert shared["image_range"] == [0, 500]
    assert shared["reported_robust_accuracy"] == pytest.approx(468 / 500)
    assert shared["train_seconds"] == 100.0 and "standard_epoch_timed" not in shared    # what the parts say, no more


def test_merge_adds_up_which_autoattack_attack_broke_each_image_and_the_table_shows_it():
    import common

    first, second, third = _part(0, 200, 188, 191), _part(200, 200, 185, 190), _part(400, 200, 190, 190)
    first["rows"][2].update(found_by={"APGD-CE": 9, "APGD-DLR": 0, "DeepFool": 0, "Square": 2}, misclassified_clean=1)
    second["rows"][2].update(found_by={"APGD-CE": 12, "APGD-DLR": 1, "DeepFool": 0, "Square": 2},
                             misclassified_clean=0)
    rows, _ = merge_parts.merge([second, first])
    aa = next(r for r in rows if r["measure"] == "ART AutoAttack")
    assert aa["found_by"] == {"APGD-CE": 21, "APGD-DLR": 1, "DeepFool": 0, "Square": 4}
    assert aa["misclassified_clean"] == 1
    assert "APGD-CE 21, APGD-DLR 1, DeepFool 0, Square 4" in common.markdown_table(rows)
    assert common.found_by_note(rows).endswith("first: APGD-CE 21, APGD-DLR 1, DeepFool 0, Square 4.")
    assert "found_by" not in next(r for r in rows if r["measure"] == "PGD-100x5 (ce)")
    # a part without the counts (run before they were kept): no sum that would leave its images out
    rows, _ = merge_parts.merge([first, second, third])
    assert "found_by" not in next(r for r in rows if r["measure"] == "ART AutoAttack")
    second["rows"][2]["found_by"]["Square"] = 3                           # one image more than its accuracy leaves
    with pytest.raises(ValueError, match="do not add up"):
        merge_parts.merge([first, second])


def test_merge_keeps_a_shared_training_cost_and_lists_the_parts_differing_ones():
    timed = dict(cost_ratio_to_standard_training=8.1, standard_epoch_seconds=30.0, standard_epoch_timed="with it")
    _, shared = merge_parts.merge([dict(_part(0, 200, 188, 191), **timed), dict(_part(200, 200, 190, 190), **timed)])
    assert {k: shared[k] for k in timed} == timed and "cost_ratio_to_standard_training_by_part" not in shared
    later = dict(timed, cost_ratio_to_standard_training=6.3, standard_epoch_seconds=38.6)   # another day's timing
    _, shared = merge_parts.merge([dict(_part(0, 200, 188, 191), **timed), dict(_part(200, 200, 190, 190), **later)])
    assert not set(timed) & set(shared) and shared["cost_ratio_to_standard_training_by_part"] == [8.1, 6.3]


@pytest.mark.parametrize("second, message", [
    (_part(150, 200, 190, 190), "overlap or leave a gap"),
    (_part(250, 200, 190, 190), "overlap or leave a gap"),
    (_part(200, 200, 190, 190, model="other"), "disagree on 'model'"),
    (_part(200, 200, 190, 190, clean=0.98), "disagree on 'clean_accuracy'"),
    (dict(_part(200, 200, 190, 190), seed=1), "disagree on 'seed'"),
])
def test_merge_refuses_parts_that_do_not_fit(second, message):
    with pytest.raises(ValueError, match=message):
        merge_parts.merge([_part(0, 200, 188, 191), second])


def test_the_training_cost_ratio_uses_a_standard_epoch_timed_with_the_training():
    import capstone

    timed = []

    def standard_epoch():
        timed.append(1)
        return 4.0

    meta = {"name": "m", "history": {"epoch_seconds": [40.0, 30.0, 34.0]}}      # median 34 s
    fresh = capstone.training_cost(meta, standard_epoch, trained_now=True)
    assert fresh == {"cost_ratio_to_standard_training": 8.5, "standard_epoch_seconds": 4.0,
                     "standard_epoch_timed": capstone.WITH_TRAINING, "keep": True}
    later = capstone.training_cost(dict(meta, standard_epoch_seconds=5.0), standard_epoch, trained_now=False)
    assert later["cost_ratio_to_standard_training"] == 6.8 and later["standard_epoch_timed"] == capstone.WITH_TRAINING
    assert not later["keep"] and len(timed) == 1                   # the kept timing, not a new one
    old = capstone.training_cost(meta, standard_epoch, trained_now=False)       # trained before timings were kept
    assert old["standard_epoch_timed"] == capstone.AT_EVALUATION and not old["keep"] and len(timed) == 2
    with pytest.raises(ValueError, match="epoch_seconds"):
        capstone.training_cost({"name": "m"}, standard_epoch, trained_now=True)


def test_the_benchmark_keeps_the_standard_epoch_it_timed_beside_the_training(monkeypatch, tmp_path):
    import capstone
    from helpers import zoo

    monkeypatch.setenv("ADVLAB_ARTIFACTS", str(tmp_path))               # an empty cache: the call trains
    _, meta, cost = capstone.get_and_time("base", lambda: 0.5)
    assert cost["standard_epoch_timed"] == capstone.WITH_TRAINING and "keep" not in cost
    assert meta["standard_epoch_seconds"] == 0.5 == zoo.metadata("base")["standard_epoch_seconds"]

    def must_not_time():
        raise AssertionError("timed again")

    _, _, again = capstone.get_and_time("base", must_not_time)          # loaded, another day: the kept timing
    assert again == cost
    _, meta, retrained = capstone.get_and_time("base", lambda: 0.25, retrain=True)
    assert retrained["standard_epoch_seconds"] == 0.25 == meta["standard_epoch_seconds"]


RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"


@pytest.mark.parametrize("path", sorted(RESULTS.glob("*.json")), ids=lambda p: p.name)
def test_kept_results_are_full_mode_runs_on_full_mnist_with_their_table(path):
    import json

    result = json.loads(path.read_text())
    env = result["environment"]
    assert env["mode"] == "full" and path.name.endswith("-full.json")
    assert env["data_source"].startswith(("local", "tfds")), env["data_source"]     # full MNIST, not the sample
    assert env["versions"]["tensorflow"] and env["date"] and result["rows"]
    table = path.with_suffix(".md").read_text()
    assert result["benchmark"] in table and f"mode: {env['mode']}" in table
    for row in result["rows"]:
        first = next(iter(row.values()))
        assert str(first) in table, row


def test_notebook_times_sums_cells_per_notebook_and_flags_a_lesson_over_the_class_budget(tmp_path, capsys):
    import notebook_times

    cases = [("notebooks/01_data_preparation.ipynb", "Cell 1", 2.0), ("notebooks/01_data_preparation.ipynb", "Cell 4", 7.5),
             ("notebooks/08_batchnorm_pitfall.ipynb", "Cell 3", 30.0),
             ("notebooks/08_batchnorm_pitfall.ipynb", "Cell 9", 75.0),
             ("tests.test_data", "test_sample", 4.0)]
    report = tmp_path / "report.xml"
    report.write_text("<testsuites><testsuite>" + "".join(
        f'<testcase classname="{cls}" name="{name}" time="{t}"/>' for cls, name, t in cases) + "</testsuite></testsuites>")
    rows = notebook_times.cells(report)
    assert rows["01_data_preparation"] == {"seconds": 9.5, "longest": 7.5, "longest_name": "Cell 4"}
    assert rows["08_batchnorm_pitfall"]["longest_name"] == "Cell 9" and rows["unit tests"]["seconds"] == 4.0
    notebook_times.main([str(report)])
    out = capsys.readouterr().out
    assert "| 01_data_preparation | 10 | 0.2 | 8 | Cell 4 | yes |" in out
    assert "| 08_batchnorm_pitfall | 105 | 1.8 | 75 | Cell 9 | NO |" in out     # one cell over 60 s
    with pytest.raises(SystemExit, match="make test"):
        notebook_times.main([str(tmp_path / "missing.xml")])
    notebook_times.main([str(report), "--write", str(tmp_path / "t.md"), "--context", "models saved"])
    written = (tmp_path / "t.md").read_text()
    assert written.startswith("# How long each lesson takes") and "models saved" in written
    assert "| 08_batchnorm_pitfall | 105 | 1.8 | 75 | Cell 9 | NO |" in written
