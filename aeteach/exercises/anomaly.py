"""Checks for notebook 10 (anomaly detection by reconstruction error).

Each check recomputes its answer from the model and data it is given, on a setting the notebook does not print.
"""

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from .. import metrics
from . import number as _number, report


def _labels(is_anomaly, n):
    """is_anomaly as a boolean numpy array of length n, or None."""
    a = np.asarray(is_anomaly.cpu() if isinstance(is_anomaly, torch.Tensor) else is_anomaly).astype(bool).reshape(-1)
    return a if len(a) == n and a.any() and (~a).any() else None


def check_recall_at(answer, model, x_val, x_test, is_anomaly, false_alarm=0.01, printed=0.05):
    """answer: recall on x_test when the threshold is the (1 - false_alarm) quantile of the errors on normal x_val."""
    value = _number(answer)
    if value is None or not 0 <= value <= 1:
        return report(False, f"give one recall, a number between 0 and 1, got {answer!r}")
    if not isinstance(model, torch.nn.Module):
        return report(False, "pass the trained model (model in the notebook)")
    labels = _labels(is_anomaly, len(x_test))
    if labels is None:
        return report(False, "pass is_anomaly: one True/False per test image, with both kinds present")
    val, test = metrics.reconstruction_errors(model, x_val), metrics.reconstruction_errors(model, x_test)
    recall = lambda rate: float((test[labels] > np.quantile(val, 1 - rate)).mean())
    truth = recall(false_alarm)
    if abs(value - truth) <= 0.01:
        alarms = float((test[~labels] > np.quantile(val, 1 - false_alarm)).mean())
        return report(True, "", f"recall {truth:.2f} at {false_alarm:.0%} false alarms on validation ({alarms:.1%} on the test "
                                f"normals), against {recall(printed):.2f} at {printed:.0%}: fewer false alarms cost missed anomalies")
    if abs(value - recall(printed)) <= 0.01:
        return report(False, f"that is the recall at {printed:.0%} false alarms; take the {1 - false_alarm:.0%} quantile of the "
                             "validation errors as the threshold instead")
    return report(False, f"threshold = np.quantile(errors on x_val, {1 - false_alarm}); recall = the fraction of the test "
                         "anomalies whose error is above it")


def check_auc(answer, model, x_test, is_anomaly, notebook_model):
    """answer: ROC-AUC on x_test of the student's own model (trained on normal data, not the notebook's model)."""
    value = _number(answer)
    if value is None or not 0 <= value <= 1:
        return report(False, f"give one ROC-AUC, a number between 0 and 1, got {answer!r}")
    if not all(isinstance(m, torch.nn.Module) for m in (model, notebook_model)):
        return report(False, "pass your trained model and the notebook's (model)")
    if model is notebook_model:
        return report(False, "the notebook's model is measured above; train one of your own (another k or kind)")
    labels = _labels(is_anomaly, len(x_test))
    if labels is None:
        return report(False, "pass is_anomaly: one True/False per test image, with both kinds present")
    errors = metrics.reconstruction_errors(model, x_test)
    x_normal = x_test[torch.as_tensor(~labels)]
    if errors[~labels].mean() >= float(((x_normal - x_normal.mean(0)) ** 2).mean()):
        return report(False, "your model rebuilds normal images no better than their mean image: train it first (ae.fit)")
    truth, ours = roc_auc_score(labels, errors), roc_auc_score(labels, metrics.reconstruction_errors(notebook_model, x_test))
    if abs(value - truth) <= 0.005:
        cfg = model.config
        return report(True, "", f"{cfg.kind}, k = {cfg.bottleneck}: ROC-AUC {truth:.3f} against {ours:.3f} for the notebook's model")
    if abs(value - ours) <= 0.005:
        return report(False, "that is the notebook model's ROC-AUC; score the test images with YOUR model")
    return report(False, "score every test image by metrics.reconstruction_errors(your_model, test.x) and pass the scores "
                         "with is_anomaly to sklearn.metrics.roc_auc_score")


THRESHOLD_CHOICES = {
    "a": "The model has fitted the training images, so their errors are smaller than those of new normal images: the threshold would be too low.",
    "b": "The training images contain anomalies, which would raise the threshold.",
    "c": "A quantile needs fewer images than the training set has.",
}


def check_threshold_question(answer):
    """answer: 'a', 'b' or 'c' for why the threshold comes from held-out normal images, not from the training images."""
    hints = {"b": "the model was trained on normal digits only (classes 0-4): there are no anomalies in the training set",
             "c": "a quantile can be taken over any number of images; the question is whether those images are like new ones"}
    if answer not in THRESHOLD_CHOICES:
        return report(False, f"answer with one of {', '.join(THRESHOLD_CHOICES)}, got {answer!r}")
    if answer == "a":
        return report(True, "", "a threshold must be set on images the model has not seen, or it flags far too many new normals")
    return report(False, hints[answer])
