"""The improved model's selection protocol: tuning split, one-standard-error choice, recorded results."""

import json

import numpy as np
import pytest

from cnncourse.augment import shifted_views
from cnncourse.experiments import IMPROVED_DEFAULTS, evaluate_scores
from cnncourse.experiments.tuning import (CANDIDATES, choose, read_rows, recorded_test_runs, recorded_tuning_rows,
                                          summarise, tuning_split)


def _row(candidate, seed, auc, balanced=(0.9, 0.9), seconds=40.0, shift=0):
    return {"candidate": candidate, "seed": seed, "tta_shift": shift, "tune_auc": auc, "val_auc": 0.99,
            "tune_balanced_accuracy": {"youden": balanced[0], "argmax": balanced[1]},
            "threshold": {"youden": 0.4 + 0.01 * seed, "argmax": 0.5}, "projected_seconds": seconds}


def test_tuning_split_is_a_stratified_partition():
    labels = np.array([0] * 30 + [1] * 70)
    fit, tune = tuning_split(labels, fraction=0.2, seed=0)
    assert len(tune) == 20 and labels[tune].sum() == 14  # 70% pneumonia, like the whole
    assert np.array_equal(np.sort(np.concatenate([fit, tune])), np.arange(100))
    assert np.array_equal(tune, tuning_split(labels)[1])  # the same split every time
    with pytest.raises(ValueError, match="fraction"):
        tuning_split(labels, fraction=1.0)
    with pytest.raises(ValueError, match="labels"):
        tuning_split(np.array([0.5, 1.0]))


def test_one_standard_error_rule_prefers_the_earlier_candidate_within_noise():
    rows = [_row("cheap", s, auc) for s, auc in enumerate((0.990, 0.992, 0.994))]
    rows += [_row("costly", s, auc) for s, auc in enumerate((0.991, 0.993, 0.995))]
    choice = choose(rows)
    assert choice["best"]["candidate"] == "costly" and choice["variant"]["candidate"] == "cheap"
    assert np.isclose(choice["auc_bar"], 0.993 - 0.002 / np.sqrt(3))
    # A clearly better candidate wins even though it comes later.
    rows += [_row("clearly better", s, auc) for s, auc in enumerate((0.998, 0.998, 0.999))]
    assert choose(rows)["variant"]["candidate"] == "clearly better"
    # ... unless it takes longer than the time budget.
    slow = [dict(row, projected_seconds=90.0) if row["candidate"] == "clearly better" else row for row in rows]
    assert choose(slow)["variant"]["candidate"] == "cheap"


def test_choice_follows_the_candidates_order_not_the_order_the_runs_were_made():
    first, second = CANDIDATES[0][0], CANDIDATES[1][0]
    rows = [_row(second, s, 0.991 + 0.001 * s) for s in range(3)] + [_row(first, s, 0.991 + 0.001 * s) for s in range(3)]
    rows += [_row(first, s, 0.9915 + 0.001 * s, shift=1) for s in range(3)]  # shifts come after the plain model
    choice = choose(rows)
    assert choice["variant"]["candidate"] == first and choice["variant"]["tta_shift"] == 0


def test_threshold_rule_is_chosen_by_balanced_accuracy_with_the_same_rule():
    rows = [_row("a", s, 0.99, balanced=(0.90 + 0.001 * s, 0.95 + 0.001 * s)) for s in range(3)]
    assert choose(rows)["rule"] == "argmax"  # clearly better balanced accuracy
    rows = [_row("a", s, 0.99, balanced=(0.950 + 0.002 * s, 0.951 + 0.002 * s)) for s in range(3)]
    assert choose(rows)["rule"] == "youden"  # within a standard error: the current rule stays


def test_summary_and_choice_reject_what_cannot_be_judged():
    with pytest.raises(ValueError, match="at least one"):
        summarise([])
    with pytest.raises(ValueError, match="2 seeds"):
        choose([_row("a", 0, 0.99)])
    with pytest.raises(ValueError, match="time budget"):
        choose([_row("a", s, 0.99, seconds=100.0) for s in range(2)])
    table = summarise([_row("a", s, 0.99, shift=shift) for s in range(2) for shift in (0, 1)])
    assert [entry["variant"] for entry in table] == ["a", "a, test-time shifts 1 px"]


def test_shifted_views_copy_whole_pixels_and_fill_from_the_edge():
    images = np.arange(2 * 5 * 5, dtype=np.float32).reshape(2, 5, 5, 1)
    views = shifted_views(images, 1)
    assert len(views) == 5 and all(view.shape == images.shape for view in views)
    assert np.array_equal(views[0], images)
    assert np.array_equal(views[1][:, 1:], images[:, :-1]) and np.array_equal(views[1][:, 0], images[:, 0])  # down
    assert np.array_equal(views[2][:, :-1], images[:, 1:])  # up
    assert np.array_equal(views[3][:, :, 1:], images[:, :, :-1])  # right
    assert np.array_equal(views[4][:, :, :-1], images[:, :, 1:])  # left
    for bad, error in ((0, ValueError), (5, ValueError), (True, TypeError)):  # a bool is not a shift
        with pytest.raises(error, match="shift"):
            shifted_views(images, bad)
    with pytest.raises(ValueError, match="images"):
        shifted_views(images[0], 1)


def test_argmax_rule_uses_the_fixed_threshold():
    y = np.array([0, 0, 1, 1])
    result = evaluate_scores(y, np.array([0.1, 0.3, 0.6, 0.8]), y, np.array([0.2, 0.55, 0.4, 0.9]), rule="argmax")
    assert result["threshold"] == 0.5 and result["test_acc"] == 0.5 and result["test_acc"] == result["test_acc_at_0.5"]


def test_recorded_search_chose_the_current_defaults():
    """The committed search results are complete, and their choice is what IMPROVED_DEFAULTS holds."""
    rows = recorded_tuning_rows()
    names = {name for name, _ in CANDIDATES}
    assert {row["candidate"] for row in rows} == names
    assert all(len({row["seed"] for row in rows if row["candidate"] == name}) >= 3 for name in names)
    choice = choose(rows)
    settings = dict(CANDIDATES)[choice["variant"]["candidate"]]
    expected = {**settings, "tta_shift": choice["variant"]["tta_shift"], "threshold_rule": choice["rule"]}
    for key, value in expected.items():
        current = IMPROVED_DEFAULTS.get(key)
        assert (list(current) if isinstance(current, tuple) else current) == \
            (list(value) if isinstance(value, tuple) else value), key


def test_recorded_test_runs_used_the_current_recipe():
    """The five CLI lines the chapter quotes come from the current IMPROVED_DEFAULTS, seeds 0 to 4."""
    runs = recorded_test_runs()
    assert sorted(run["seed"] for run in runs) == [0, 1, 2, 3, 4]
    for run in runs:
        assert run["effective_seed"] == run["seed"] and run["model"] == "improved" and run["engine"] == "keras"
        assert run["epochs"] == IMPROVED_DEFAULTS["epochs"] and run["cycles"] == IMPROVED_DEFAULTS["cycles"]
        assert run["tta_shift"] == IMPROVED_DEFAULTS["tta_shift"]
        assert run["threshold_rule"] == IMPROVED_DEFAULTS["threshold_rule"]
        assert {"test_acc", "test_auc", "val_auc", "threshold", "train_seconds"} <= set(run)


def test_read_rows_round_trips(tmp_path):
    path = tmp_path / "rows.jsonl"
    rows = [_row("a", 0, 0.99), _row("a", 1, 0.98)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows) + "\n")
    assert read_rows(path) == rows


def _tiny_splits(n=48, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = (rng.random((n, 28, 28)) * 60 + labels[:, None, None] * 120).astype(np.uint8)  # separable
    return (images, labels), (images[:24], labels[:24]), (images[24:], labels[24:])


@pytest.mark.slow
def test_snapshot_ensemble_and_test_time_shifts_average_scores():
    from cnncourse.data import to_float_images
    from cnncourse.experiments import ensemble_scores, train_improved

    splits = _tiny_splits()
    run = train_improved(seed=0, data=splits, epochs=2, cycles=2, tta_shift=1, batch_size=16)
    assert len(run.snapshots) == 2 and run.result["best_epoch"] is None and run.result["cycles"] == 2
    x_test = to_float_images(splits[2][0])
    # The reported scores are the mean over both snapshots and the five shifted views.
    by_hand = np.mean([ensemble_scores(run.model, x_test, [weights], 1) for weights in run.snapshots], axis=0)
    assert np.allclose(run.test_scores, by_hand, atol=1e-6)
    single = ensemble_scores(run.model, x_test, run.snapshots[:1], 0)
    assert not np.allclose(single, run.test_scores)  # the averaging changes something
    assert all(np.array_equal(a, b) for a, b in zip(run.model.get_weights(), run.snapshots[0]))


@pytest.mark.parametrize("settings, message", [
    ({"epochs": 3, "cycles": 2}, "multiple of cycles"),
    ({"cycles": 0}, "cycles"),
    ({"tta_shift": -1}, "tta_shift"),
    ({"tta_shift": 1.5}, "tta_shift"),
    ({"threshold_rule": "median"}, "threshold_rule"),
])
def test_train_improved_rejects_bad_settings_before_training(settings, message):
    from cnncourse.experiments import train_improved

    with pytest.raises((ValueError, TypeError), match=message):  # TypeError: not a whole number
        train_improved(seed=0, data=_tiny_splits(), **settings)


@pytest.mark.slow
def test_search_scores_on_the_tuning_split_and_its_rows_feed_choose():
    from cnncourse.experiments.tuning import search

    (x_train, y_train), validation, _ = _tiny_splits(n=60)
    rows = search((x_train, y_train), validation, [("tiny", {"epochs": 1, "batch_size": 16})], seeds=(0, 1))
    assert len(rows) == 2 * 2  # seeds x test-time shifts
    assert {row["tune_images"] for row in rows} == {12} and {row["fit_images"] for row in rows} == {48}
    for row in rows:
        assert 0 <= row["tune_auc"] <= 1 and set(row["threshold"]) == {"youden", "argmax"}
        assert row["threshold"]["argmax"] == 0.5 and row["projected_seconds"] >= row["train_seconds"]
    assert choose(rows, time_budget=1e9)["variant"]["candidate"] == "tiny"


def test_command_line_summarises_a_results_file_and_rejects_unknown_candidates(tmp_path, capsys):
    from cnncourse.experiments.tuning import main

    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(_row("a", s, 0.99 + 0.001 * s)) + "\n" for s in range(3)))
    assert main(["--summarise", str(path)]) == 0
    err = capsys.readouterr().err
    assert "tuning AUC" in err and "chosen: a, threshold rule youden" in err
    with pytest.raises(SystemExit):
        main(["--only", "no such candidate"])
    assert "unknown candidates" in capsys.readouterr().err
