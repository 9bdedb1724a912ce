"""The notebook 10 checks: the solutions pass; lazy answers (numbers printed in the notebook) and mistakes get a hint."""
import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

import aeteach as ae
from aeteach import metrics
from aeteach.exercises import anomaly as ex


@pytest.fixture(scope="module")
def setting(digits):
    train, test = digits
    normal_classes = torch.tensor([0, 1, 2, 3, 4])
    normal = train.x[torch.isin(train.y, normal_classes)]
    x_val, x_fit = normal[:100], normal[100:]
    is_anomaly = (~torch.isin(test.y, normal_classes)).numpy()
    models = {}
    for k in (8, 32):
        models[k] = ae.make_model("undercomplete", train.shape, k, seed=0)
        ae.fit(models[k], x_fit, epochs=15, progress=False)
    return x_val, x_fit, test, is_anomaly, models


def _recall(model, x_val, x_test, is_anomaly, q):
    val, test = metrics.reconstruction_errors(model, x_val), metrics.reconstruction_errors(model, x_test)
    return (test[is_anomaly] > np.quantile(val, q)).mean()


def test_reconstruction_errors_average_to_the_mse(setting):
    _, _, test, _, models = setting
    errors = metrics.reconstruction_errors(models[8], test.x)
    assert errors.shape == (len(test.x),)
    assert errors.mean() == pytest.approx(metrics.reconstruction_mse(models[8], test.x), rel=1e-6)
    x_fit = setting[1]
    assert metrics.pca_errors(x_fit, test.x, 8).mean() == pytest.approx(metrics.pca_baseline(x_fit, test.x, 8), rel=1e-6)


def test_recall_at_one_percent(setting, capsys):
    x_val, _, test, is_anomaly, models = setting
    m = models[8]
    assert ex.check_recall_at(_recall(m, x_val, test.x, is_anomaly, 0.99), m, x_val, test.x, is_anomaly)
    assert not ex.check_recall_at(_recall(m, x_val, test.x, is_anomaly, 0.95), m, x_val, test.x, is_anomaly)  # printed
    assert "recall at 5% false alarms" in capsys.readouterr().out
    assert not ex.check_recall_at(1.0, m, x_val, test.x, is_anomaly)
    assert "quantile" in capsys.readouterr().out
    assert not ex.check_recall_at(0.5, m, x_val, test.x, is_anomaly[:10])
    assert "one True/False per test image" in capsys.readouterr().out


def test_auc_of_an_own_model(setting, capsys):
    _, _, test, is_anomaly, models = setting
    auc = lambda m: roc_auc_score(is_anomaly, metrics.reconstruction_errors(m, test.x))
    assert ex.check_auc(auc(models[32]), models[32], test.x, is_anomaly, models[8])
    assert not ex.check_auc(auc(models[8]), models[8], test.x, is_anomaly, models[8])  # the notebook's own model
    assert "train one of your own" in capsys.readouterr().out
    if abs(auc(models[8]) - auc(models[32])) > 0.005:  # the notebook's AUC offered for another model
        assert not ex.check_auc(auc(models[8]), models[32], test.x, is_anomaly, models[8])
        assert "notebook model's ROC-AUC" in capsys.readouterr().out
    untrained = ae.make_model("undercomplete", test.shape, 16, seed=1)
    assert not ex.check_auc(auc(untrained), untrained, test.x, is_anomaly, models[8])
    assert "train it first" in capsys.readouterr().out
    assert not ex.check_auc(1.5, models[32], test.x, is_anomaly, models[8])


def test_threshold_question():
    assert ex.check_threshold_question("a")
    assert not ex.check_threshold_question("b")
    assert not ex.check_threshold_question("c")
    assert not ex.check_threshold_question(1)
