"""The benchmark helpers that compute numbers of their own (not the ones that only run helpers)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import merge_parts


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


@pytest.mark.slow
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


@pytest.mark.parametrize("path", sorted(RESULTS.glob("*-full.json")), ids=lambda p: p.name)
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

    cases = [("notebooks/01_data_preparation.ipynb", "Cell 1", 2.0),
             ("notebooks/01_data_preparation.ipynb", "Cell 4", 7.5),
             ("notebooks/08_batchnorm_pitfall.ipynb", "Cell 3", 30.0),
             ("notebooks/08_batchnorm_pitfall.ipynb", "Cell 9", 75.0),
             ("tests.test_data", "test_sample", 4.0)]
    report = tmp_path / "report.xml"
    testcases = "".join(f'<testcase classname="{cls}" name="{name}" time="{t}"/>' for cls, name, t in cases)
    report.write_text("<testsuites><testsuite>" + testcases + "</testsuite></testsuites>")
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


# --------------------------------------------------------------------------- per-image records, merged

def _image_part(first, records, *, model="m", aa_broken_by=None):
    """A part with per-image records: ``records`` maps measure -> "0110..." (all from image ``first``)."""
    import common

    rows = [{"measure": "clean accuracy", "value": 0.99, "images": 10000, "threat model": "none", "seconds": 0.0}]
    for measure, record in records.items():
        rows.append({"measure": measure, "value": common.robust_mask(record).mean(), "images": len(record),
                     "threat model": f"L-inf eps 0.3, {len(record):,} images", "seconds": 2.0,
                     "first_image": first, "robust": record})
    if aa_broken_by is not None:
        aa = next(r for r in rows if r["measure"] == "ART AutoAttack")
        aa["first_broken_by"] = aa_broken_by
        aa["found_by"], aa["misclassified_clean"] = common.found_by_counts(aa_broken_by)
    rows.append(common.worst_case_row("lowest of all (per image, every attack)", rows[1:], "L-inf eps 0.3"))
    return {"benchmark": f"part{first}", "environment": {"mode": "full", "date": "today"}, "rows": rows,
            "model": model, "settings": {"beta": 6.0}, "train_seconds": 100.0, "clean_accuracy": 0.99,
            "first_image": first}


def test_merge_concatenates_per_image_records_and_recomputes_every_accuracy_from_them():
    import common

    first = _image_part(0, {"PGD": "1101", "ART AutoAttack": "1001"},
                        aa_broken_by=[None, "APGD-CE", common.CLEAN_MISCLASSIFIED, None])
    second = _image_part(4, {"PGD": "011", "ART AutoAttack": "111"}, aa_broken_by=[None, None, None])
    rows, shared = merge_parts.merge([second, first])
    by = {r["measure"]: r for r in rows}
    assert by["PGD"]["robust"] == "1101011" and by["PGD"]["value"] == pytest.approx(5 / 7)
    assert by["PGD"]["images"] == 7 and by["PGD"]["threat model"] == "L-inf eps 0.3, 7 images"
    assert "combined_from" not in by["PGD"] and by["PGD"]["first_image"] == 0
    aa = by["ART AutoAttack"]
    assert aa["robust"] == "1001111" and aa["first_broken_by"][:3] == [None, "APGD-CE", common.CLEAN_MISCLASSIFIED]
    assert aa["found_by"] == {"APGD-CE": 1, "APGD-DLR": 0, "DeepFool": 0, "Square": 0}
    assert aa["misclassified_clean"] == 1
    # the worst case over attacks is the per-image AND of the merged records, not a min of accuracies
    lowest = by["lowest of all (per image, every attack)"]
    assert lowest["robust"] == "1001011" and lowest["value"] == pytest.approx(4 / 7)
    assert lowest["value"] < min(by["PGD"]["value"], aa["value"])
    assert shared["image_range"] == [0, 7] and shared["reported_robust_accuracy"] == pytest.approx(4 / 7)
    # a part whose worst case is not the AND of its own records is refused, not averaged in
    second["rows"][-1]["robust"] = "111"
    with pytest.raises(ValueError, match="not the per-image AND"):
        merge_parts.merge([first, second])


def test_merge_falls_back_to_counts_for_a_part_without_per_image_records_and_says_so():
    new = _image_part(0, {"PGD-100x5 (ce)": "1" * 190 + "0" * 10})
    old = _part(200, 200, 188, 185)                           # written before per-image records were kept
    rows, _ = merge_parts.merge([new, old])
    pgd = next(r for r in rows if r["measure"] == "PGD-100x5 (ce)")
    assert pgd["combined_from"] == "counts" and "robust" not in pgd
    assert pgd["value"] == pytest.approx((190 + 185) / 400) and pgd["images"] == 400


def test_merge_checks_each_measures_image_range_and_its_record_length():
    with pytest.raises(ValueError, match="'PGD' overlap or leave a gap"):
        merge_parts.merge([_image_part(0, {"PGD": "1101"}), _image_part(5, {"PGD": "11"})])
    broken = _image_part(4, {"PGD": "11"})
    broken["rows"][1]["images"] = 3
    with pytest.raises(ValueError, match="per-image records"):
        merge_parts.merge([_image_part(0, {"PGD": "1101"}), broken])


def test_per_image_records_round_trip_and_the_worst_case_is_their_and():
    import common

    assert common.robust_record([True, False, True]) == "101"
    assert common.robust_mask("101").tolist() == [True, False, True]
    with pytest.raises(ValueError, match="0 and 1"):
        common.robust_mask("10x")
    a = {"measure": "a", "robust": "1101", "first_image": 3}
    b = {"measure": "b", "robust": "011", "first_image": 3}
    row = common.worst_case_row("both", [a, b], "L-inf eps 0.3")
    assert row["robust"] == "010" and row["images"] == 3 and row["of"] == ["a", "b"] and row["first_image"] == 3
    assert common.worst_case_row("both", [a, b], "t", images=2)["robust"] == "01"
    with pytest.raises(ValueError, match="different images"):
        common.worst_case_row("x", [a, dict(b, first_image=0)], "t")


def test_results_keep_per_image_lists_on_one_line_and_out_of_the_table():
    import json

    import common

    rows = [{"measure": "AA", "value": 0.5, "images": 2, "robust": "10", "first_broken_by": [None, "Square"],
             "found_by": {"Square": 1}}]
    text = common.dumps({"rows": rows})
    assert json.loads(text) == {"rows": rows}
    assert '"first_broken_by": [null, "Square"]' in text and '"found_by": {\n' in text
    table = common.markdown_table(rows)
    assert "Square 1" in table and "robust" not in table and "first_broken_by" not in table


# --------------------------------------------------------------------------- resuming a long evaluation

class _Interrupted(Exception):
    pass


def _coin_attack(calls, stop_after=None):
    """A fake attack: per image a seeded coin (so a resumed run can be compared), counting the images it sees."""
    import numpy as np

    def attack(x, y):
        if stop_after is not None and len(calls) == stop_after:
            raise _Interrupted()
        calls.append(len(x))
        return {"robust": np.random.rand(len(x)) > 0.5, "first_broken_by": [f"x{int(v)}" for v in x[:, 0]]}
    return attack


def test_a_long_evaluation_resumes_where_it_stopped_and_draws_what_an_uninterrupted_one_would(tmp_path):
    import numpy as np

    import common

    x, y = np.arange(10, dtype=np.float32)[:, None], np.zeros(10, int)
    key = {"model": "m", "weights": "abc", "eps": 0.3, "first_image": 0}
    whole = common.State(tmp_path / "whole.state.json", key).run("A", {"steps": 100}, x, y, _coin_attack([]),
                                                                 chunk=3, log=None)
    calls = []
    path = tmp_path / "part.state.json"
    with pytest.raises(_Interrupted):                               # stopped during the third chunk
        common.State(path, key).run("A", {"steps": 100}, x, y, _coin_attack(calls, stop_after=2), chunk=3, log=None)
    assert calls == [3, 3] and common.State(path, key).done("A") == 6
    again = []
    resumed = common.State(path, key).run("A", {"steps": 100}, x, y, _coin_attack(again), chunk=3, log=None)
    assert again == [3, 1]                                          # only the images the state lacked
    assert resumed["robust"] == whole["robust"] and resumed["first_broken_by"] == whole["first_broken_by"]
    assert resumed["first_broken_by"] == [f"x{i}" for i in range(10)]
    done = []
    prefix = common.State(path, key).run("A", {"steps": 100}, x[:4], y[:4], _coin_attack(done), chunk=3, log=None)
    assert done == [] and prefix["robust"] == whole["robust"][:4]   # fewer images: the saved prefix, no attack
    more = common.State(path, key).run("A", {"steps": 100}, np.arange(12, dtype=np.float32)[:, None],
                                       np.zeros(12, int), _coin_attack(done), chunk=3, log=None)
    assert done == [2] and more["robust"][:10] == whole["robust"]   # more images: it goes on from the 11th


def test_a_saved_state_of_another_evaluation_is_refused_and_fresh_discards_it(tmp_path):
    import numpy as np

    import common

    x, y = np.zeros((4, 1), np.float32), np.zeros(4, int)
    key = {"model": "m", "weights": "abc", "eps": 0.3, "first_image": 0}
    path = tmp_path / "s.state.json"
    common.State(path, key).run("A", {"steps": 100}, x, y, _coin_attack([]), chunk=2, log=None)
    with pytest.raises(common.StateMismatch, match=r"eps 0.3 there, 0.2 now.*--fresh"):
        common.State(path, dict(key, eps=0.2))
    with pytest.raises(common.StateMismatch, match="weights 'abc' there, 'def' now"):
        common.State(path, dict(key, weights="def"))
    with pytest.raises(common.StateMismatch, match="settings"):
        common.State(path, key).run("A", {"steps": 50}, x, y, _coin_attack([]), chunk=2, log=None)
    calls = []
    common.State(path, dict(key, eps=0.2), fresh=True).run("A", {"steps": 50}, x, y, _coin_attack(calls), chunk=2,
                                                            log=None)
    assert calls == [2, 2]


def test_a_real_pgd_evaluation_resumed_gives_the_same_per_image_record(tmp_path, base_model):
    import functools

    import common
    from helpers import attacks, data, evaluation

    x, y = data.load_normalized("test")
    x, y = x[:8], y[:8]
    attack = functools.partial(attacks.pgd, eps=0.1, steps=5)

    def survivors(xs, ys):
        return {"robust": evaluation.survivors(base_model, xs, ys, attack)}

    key = {"model": "base", "weights": common.weights_digest(base_model)}
    whole = common.State(tmp_path / "w.json", key).run("PGD", {}, x, y, survivors, chunk=4, log=None)
    common.State(tmp_path / "r.json", key).run("PGD", {}, x[:4], y[:4], survivors, chunk=4, log=None)
    resumed = common.State(tmp_path / "r.json", key).run("PGD", {}, x, y, survivors, chunk=4, log=None)
    assert resumed["robust"] == whole["robust"] and len(whole["robust"]) == 8


@pytest.mark.slow
def test_referee_apgd_per_image_breaks_a_standard_model_targeted_towards_its_runner_up(base_model):
    import numpy as np
    from helpers import data, referee

    x, y = data.load_normalized("test")
    x, y = x[:6], y[:6]
    logits = base_model(x, training=False).numpy()
    correct = logits.argmax(1) == y
    order = [[int(c) for c in np.argsort(-row) if c != label] for row, label in zip(logits, y)]
    one = referee.apgd_targeted(base_model, x, y, eps=0.3, targets=1, max_iter=10)
    assert one["robust"].shape == (6,) and one["robust"].sum() < 6
    for robust, broken, others, right in zip(one["robust"], one["broken_with_target"], order, correct):
        assert (broken is None) == bool(robust)
        assert broken in (None, others[0]) if right else broken == referee.CLEAN_MISCLASSIFIED   # the runner-up
    # three targets, 20 iterations: every one of 20 images broken when measured (quick base model, eps 0.3)
    three = referee.apgd_targeted(base_model, x, y, eps=0.3, targets=3, max_iter=20)
    assert three["robust"].sum() <= 1
    assert all(b is None or b == referee.CLEAN_MISCLASSIFIED or b in o[:3]
               for b, o in zip(three["broken_with_target"], order))
    with pytest.raises(ValueError, match="targets must be 1..9"):
        referee.apgd_targeted(base_model, x, y, eps=0.3, targets=10)
    untargeted = referee.apgd_survivors(base_model, x, y, eps=0.3, restarts=1, max_iter=10)   # 0 of 20 measured
    assert untargeted.shape == (6,) and untargeted.sum() <= 1 and not (untargeted & ~correct).any()
