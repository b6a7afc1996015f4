"""Issue 24: the experiments' inputs that used to give silent numbers or bare tracebacks."""

import json

import numpy as np
import pytest

from cnncourse.experiments import tuning
from cnncourse.experiments.pipeline import training_subset


def _row(candidate, seed, auc=0.99):
    return {"candidate": candidate, "seed": seed, "tta_shift": 0, "tune_auc": auc, "val_auc": 0.99,
            "tune_balanced_accuracy": {"youden": 0.9, "argmax": 0.9},
            "threshold": {"youden": 0.4, "argmax": 0.5}, "projected_seconds": 40.0}


def test_duplicated_rows_are_an_error_not_extra_seeds(tmp_path, capsys):
    rows = [_row("a", seed, 0.99 + 0.001 * seed) for seed in range(3)]
    with pytest.raises(ValueError, match=r"rows 1 and 4 are both 'a' with seed 0: a duplicated row"):
        tuning.summarise(rows + rows)
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows + rows))
    assert tuning.main(["--summarise", str(path)]) == 2
    assert "duplicated row" in capsys.readouterr().err


@pytest.mark.parametrize("line, message", [
    ("{not json", r"line 2: not a JSON line"),
    ("[1, 2]", r"line 2: expected a JSON object, got list"),
    ('{"candidate": "a", "seed": 1}', r"line 2: missing key\(s\) tta_shift, tune_auc"),
])
def test_a_bad_line_names_the_file_and_line(tmp_path, line, message):
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(_row("a", 0)) + "\n" + line + "\n")
    with pytest.raises(ValueError, match=rf"rows.jsonl, {message}"):
        tuning.read_rows(path)


def test_out_into_a_missing_folder_fails_before_training(tmp_path, monkeypatch, capsys):
    def no_training(*args, **kwargs):
        raise AssertionError("the data were loaded: the check came too late")

    monkeypatch.setattr("cnncourse.data.load_pneumoniamnist", no_training)
    with pytest.raises(SystemExit):
        tuning.main(["--out", str(tmp_path / "missing" / "rows.jsonl"), "--only", "10 epochs"])
    assert "does not exist" in capsys.readouterr().err


def test_subset_larger_than_the_training_split_is_an_error():
    images = np.zeros((10, 28, 28), np.uint8)
    labels = np.arange(10) % 2
    data = ((images, labels), (images[:4], labels[:4]), (images[:4], labels[:4]))
    with pytest.raises(ValueError, match="subset must be from 2 to the training split's 10 images, got 11"):
        training_subset(data, 11, seed=0)
    assert len(training_subset(data, 10, seed=0)[0][1]) == 10
    assert training_subset(data, None, seed=0) is data


def test_quick_subset_larger_than_the_training_split_is_an_error():
    from cnncourse.experiments.quick import load_quick_data

    with pytest.raises(ValueError, match="n must be between 1 and the training split's"):
        load_quick_data(n=10**7)


def test_tuning_rejects_a_bad_seed_before_loading_anything(capsys):
    with pytest.raises(SystemExit):
        tuning.main(["--seeds", "0", "-3"])
    assert "--seeds: seed must be an int in [0, 2**32), got -3" in capsys.readouterr().err
