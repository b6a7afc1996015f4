"""Chapter "Diagnosis with little data"'s exercise checkers: right answers pass, typical wrong ones fail readably."""

import numpy as np
import pytest
from sklearn.model_selection import KFold, StratifiedKFold

from cnncourse.exercises import ExerciseFailed, check, exercises


def test_chapter_lists_its_checkers():
    assert {e.name for e in exercises("13_little_data")} == {"little_data_kfold", "little_data_auc_se", "little_data_freeze"}


def stratified_kfold(labels, k, seed=0):
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(folds.split(np.zeros(len(labels)), labels))


def test_kfold():
    assert check("little_data_kfold", stratified_kfold)

    def unstratified(labels, k, seed=0):
        return list(KFold(n_splits=k).split(np.zeros(len(labels))))

    with pytest.raises(ExerciseFailed, match="stratify"):
        check("little_data_kfold", unstratified)

    def overlapping(labels, k, seed=0):
        return [(np.arange(len(labels)), val) for _, val in stratified_kfold(labels, k, seed)]

    with pytest.raises(ExerciseFailed, match="both its training and validation"):
        check("little_data_kfold", overlapping)
    with pytest.raises(ExerciseFailed, match="list of 5"):
        check("little_data_kfold", lambda labels, k, seed=0: stratified_kfold(labels, k, seed)[:-1])


def auc_standard_error(auc, n_positive, n_negative):
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    return np.sqrt((auc * (1 - auc) + (n_positive - 1) * (q1 - auc**2) + (n_negative - 1) * (q2 - auc**2))
                   / (n_positive * n_negative))


def test_auc_se():
    assert check("little_data_auc_se", auc_standard_error)
    with pytest.raises(ExerciseFailed, match="variance"):
        check("little_data_auc_se", lambda a, p, n: auc_standard_error(a, p, n) ** 2)
    with pytest.raises(ExerciseFailed, match="swapped"):
        check("little_data_auc_se", lambda a, p, n: auc_standard_error(a, n, p))
    with pytest.raises(ExerciseFailed, match="expected"):
        check("little_data_auc_se", lambda a, p, n: 0.05)


def test_freeze():
    def freeze(model):
        for layer in model.layers[:-1]:
            layer.trainable = False
        return model

    assert check("little_data_freeze", freeze)

    def freeze_everything(model):
        model.trainable = False
        return model

    with pytest.raises(ExerciseFailed, match="frozen by mistake"):
        check("little_data_freeze", freeze_everything)
    with pytest.raises(ExerciseFailed, match="still trainable"):
        check("little_data_freeze", lambda model: model)
    with pytest.raises(ExerciseFailed, match="return the model"):
        check("little_data_freeze", lambda model: None)
