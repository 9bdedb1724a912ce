"""Checks for notebook 07 (segmentation): IoU by hand, the all-background baseline, Dice from IoU, why skips help."""
import math
import numbers

import torch

from . import report, multiple_choice
from .. import metrics


def _masks(pred, target):
    ok = all(isinstance(t, torch.Tensor) and not t.is_floating_point() for t in (pred, target))
    return ok and pred.shape == target.shape


def check_class_iou(fn, n_classes=4, seed=0):
    """fn(pred, target, c) -> IoU of class c; compared with metrics.iou on random masks (one class absent from the target)."""
    if not callable(fn):
        return report(False, f"pass your function itself (class_iou, without calling it), got {type(fn).__name__}")
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, n_classes - 1, (5, 8, 8), generator=g)  # class n_classes - 1 never appears
    pred = torch.where(torch.rand(target.shape, generator=g) < 0.7, target, torch.randint(0, n_classes, target.shape, generator=g))
    truth = metrics.iou(pred, target, n_classes)
    for c in range(n_classes):
        try:
            value = float(fn(pred, target, c))
        except Exception as err:
            return report(False, f"class_iou(pred, target, {c}) raised {type(err).__name__}: {err}")
        if not math.isclose(value, float(truth[c]), abs_tol=1e-6):
            return report(False, f"class {c}: got {value:.4f}; count the pixels where both pred and target equal c "
                                 "(intersection) and where either does (union)")
    return report(True, "", "your IoU matches metrics.iou on every class")


def check_background_baseline(accuracy, miou, test):
    """Pixel accuracy and mean IoU of predicting background everywhere, each within 0.01."""
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in (accuracy, miou)):
        return report(False, "accuracy and miou must be numbers (floats between 0 and 1)")
    if getattr(test, "y", None) is None or test.y.dim() != 3:
        return report(False, "test must be the shapes Dataset, whose .y holds the (N, H, W) masks")
    background = torch.zeros_like(test.y)
    true_acc = float((background == test.y).float().mean())
    true_miou = metrics.mean_iou(background, test.y, len(test.classes) or 4)
    if abs(accuracy - true_acc) > 0.01:
        return report(False, "pixel accuracy is the fraction of all pixels whose predicted class equals the true class; "
                             "predict class 0 for every pixel")
    if abs(miou - true_miou) > 0.01:
        return report(False, "accuracy is right; for mean IoU pass the all-zero prediction to metrics.mean_iou with n_classes=4")
    return report(True, "", f"accuracy {accuracy:.2f} looks good, mean IoU {miou:.2f} shows the objects are all missed")


def check_dice_from_iou(fn, pred=None, target=None, n_classes=4):
    """fn(iou) -> Dice, called on IoU values the check picks (and, if given, those of pred against target).

    The check chooses the inputs, so a function that ignores its argument and returns the notebook's Dice fails.
    """
    if not callable(fn):
        return report(False, f"pass your function itself (dice_from_iou), got {type(fn).__name__}")
    cases = [torch.tensor([0.0, 0.1, 0.25, 0.5, 0.75, 1.0], dtype=torch.float64),
             torch.rand(7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)]
    if pred is not None or target is not None:
        if not _masks(pred, target):
            return report(False, "pred and target must be integer masks (N, H, W) of the same shape")
        cases.append(metrics.iou(pred, target, n_classes))
    for iou in cases:
        truth = 2 * iou / (1 + iou)
        try:
            yours = torch.as_tensor(fn(iou.clone()), dtype=torch.float64)
        except Exception as err:
            return report(False, f"dice_from_iou raised {type(err).__name__}: {err}")
        if yours.shape != truth.shape or not torch.allclose(yours, truth, atol=1e-6, equal_nan=True):
            return report(False, "compute Dice from the iou you are given: write |A|+|B| as |A and B| + |A or B|, "
                                 "then divide numerator and denominator by |A or B|")
    return report(True, "", "Dice = 2 IoU / (1 + IoU): the same ranking as IoU, kinder to partial overlaps")


# Why skips help segmentation but would spoil a compressing autoencoder: a multiple choice.
SKIP_CHOICES = {
    "a": "skip connections add parameters, so the U-Net simply has more capacity",
    "b": "skip connections pass the encoder's full-resolution features to the decoder, so where an edge lies need not "
         "squeeze through the 4x4 bottleneck; an autoencoder with skips could copy its input the same way",
    "c": "skip connections make the gradient smaller, so training is more stable",
}
SKIP_HINTS = {
    "a": "the decoder's first layers get twice the input channels, but that is a few thousand weights; ask what "
         "information reaches the decoder with and without the skips, and where the gap opened in section 5",
    "c": "both networks trained without trouble; ask what information reaches the decoder with and without the skips, "
         "and where (section 5) the one without skips loses its accuracy",
}


def check_skip_question(answer):
    """answer: 'a', 'b' or 'c' (see SKIP_CHOICES)."""
    return multiple_choice(answer, SKIP_CHOICES, "b", "skips carry where things are past the bottleneck: right for masks, and a way to "
                           "cheat for an autoencoder that must compress", SKIP_HINTS)
