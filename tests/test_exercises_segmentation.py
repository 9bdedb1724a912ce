"""The checks of notebook 07 pass the solutions and reject wrong answers with a hint."""
import torch

import aeteach as ae
from aeteach import metrics
from aeteach.exercises import segmentation as ex


def class_iou(pred, target, c):
    inter = ((pred == c) & (target == c)).sum()
    union = ((pred == c) | (target == c)).sum()
    return float("nan") if union == 0 else float(inter / union)


def test_class_iou(capsys):
    assert ex.check_class_iou(class_iou)
    dice = lambda p, t, c: float(2 * ((p == c) & (t == c)).sum() / ((p == c).sum() + (t == c).sum()).clamp(min=1))
    assert not ex.check_class_iou(dice)
    assert "intersection" in capsys.readouterr().out
    assert not ex.check_class_iou(0.5)
    assert not ex.check_class_iou(lambda p, t, c: 1 / 0)


def test_background_baseline(capsys):
    test = ae.load_dataset("shapes", "test", n=50, size=16)
    zeros = torch.zeros_like(test.y)
    acc = float((zeros == test.y).float().mean())
    miou = metrics.mean_iou(zeros, test.y, 4)
    assert ex.check_background_baseline(acc, miou, test)
    assert not ex.check_background_baseline(acc, 1.0, test)
    assert "metrics.mean_iou" in capsys.readouterr().out
    assert not ex.check_background_baseline(0.5, miou, test)
    assert not ex.check_background_baseline("0.8", miou, test)
    assert not ex.check_background_baseline(acc, miou, ae.load_dataset("digits", "test"))


def test_dice_from_iou(capsys):
    g = torch.Generator().manual_seed(1)
    target = torch.randint(0, 4, (4, 8, 8), generator=g)
    pred = torch.where(torch.rand(target.shape, generator=g) < 0.6, target, torch.zeros_like(target))
    assert ex.check_dice_from_iou(lambda iou: 2 * iou / (1 + iou))
    assert ex.check_dice_from_iou(lambda iou: 2 * iou / (1 + iou), pred, target)
    assert not ex.check_dice_from_iou(lambda iou: iou, pred, target)
    assert "divide" in capsys.readouterr().out
    assert not ex.check_dice_from_iou(lambda iou: 2 * iou / (1 + iou), pred.float(), target)


def test_dice_from_iou_rejects_an_answer_that_ignores_its_argument(capsys):
    g = torch.Generator().manual_seed(1)
    target = torch.randint(0, 4, (4, 8, 8), generator=g)
    pred = torch.where(torch.rand(target.shape, generator=g) < 0.6, target, torch.zeros_like(target))
    lazy = lambda iou: metrics.dice(pred, target, 4)  # the right numbers for the notebook's masks, whatever iou is
    assert not ex.check_dice_from_iou(lazy, pred, target)
    assert not ex.check_dice_from_iou(lazy)
    assert "the iou you are given" in capsys.readouterr().out


def test_skip_question(capsys):
    assert ex.check_skip_question("b")
    assert ex.check_skip_question(" (B) ")
    for wrong in ("a", "c"):
        assert not ex.check_skip_question(wrong)
        assert "what information reaches the decoder" in capsys.readouterr().out
    assert not ex.check_skip_question("d")
    assert not ex.check_skip_question(2)
