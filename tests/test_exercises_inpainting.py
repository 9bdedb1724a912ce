"""The checks of notebook 08 pass the solutions and reject wrong answers with a hint."""
import math

import torch

import aeteach as ae
from aeteach.exercises import inpainting as ex


def block_psnr(filled, x, mask):
    err = ((filled - x)[mask.expand_as(x)] ** 2).mean()
    return float(10 * torch.log10(1 / err))


def test_block_psnr(capsys):
    assert ex.check_block_psnr(block_psnr)
    whole = lambda filled, x, mask: float(10 * torch.log10(1 / ((filled - x) ** 2).mean()))
    assert not ex.check_block_psnr(whole)
    assert "whole image" in capsys.readouterr().out
    assert not ex.check_block_psnr(lambda f, x, m: 20.0)
    assert not ex.check_block_psnr(3.0)


def _trained(block, epochs=30):
    train = ae.load_dataset("digits")
    model = ae.make_model("inpainting", train.shape, 32, block=block, seed=0)
    ae.fit(model, train, epochs=epochs, progress=False, seed=0)
    return model


def test_position(capsys):
    test = ae.load_dataset("digits", "test")
    model = ae.make_model("inpainting", test.shape, 8, block=3, seed=0)
    corner, centre = ex._model_psnr(model, test.x, 3, (0, 0)), ex._model_psnr(model, test.x, 3, (2, 2))
    assert ex.check_position(corner, centre, model, test)
    assert not ex.check_position(corner, centre + 3.0, model, test)
    assert "centre position" in capsys.readouterr().out
    assert not ex.check_position(corner, centre, ae.make_model("undercomplete", test.shape, 8), test)
    assert not ex.check_position(math.nan, centre, model, test)
    other = ae.make_model("inpainting", test.shape, 8, block=5, seed=0)  # another model with its own numbers
    assert not ex.check_position(ex._model_psnr(other, test.x, 3, (0, 0)), ex._model_psnr(other, test.x, 3, (2, 2)),
                                 other, test)
    assert "models[3]" in capsys.readouterr().out


def test_trained_block(capsys):
    test = ae.load_dataset("digits", "test")
    models = {3: _trained(3), 5: _trained(5)}
    assert ex.check_trained_block(_trained(4), models, test)
    assert not ex.check_trained_block(models[3], models, test)
    assert "block=3" in capsys.readouterr().out
    untrained = ae.make_model("inpainting", test.shape, 32, block=4, seed=0)
    assert not ex.check_trained_block(untrained, models, test)
    assert not ex.check_trained_block(_trained(4, 1), "models", test)


def test_trained_block_rejects_untrained_or_missing_rivals(capsys):
    test = ae.load_dataset("digits", "test")
    mine = _trained(4)
    rivals = {3: ae.make_model("inpainting", test.shape, 32, block=3, seed=0),
              5: ae.make_model("inpainting", test.shape, 32, block=5, seed=0)}  # untrained: easy to beat
    assert not ex.check_trained_block(mine, rivals, test)
    assert "does not even beat" in capsys.readouterr().out
    assert not ex.check_trained_block(mine, {3: _trained(3)}, test)  # the model trained at 5 left out
    assert "3 and 5" in capsys.readouterr().out


def test_hole_question(capsys):
    assert ex.check_hole_question("b")
    for wrong in ("a", "c"):
        assert not ex.check_hole_question(wrong)
        assert "Ask what" in capsys.readouterr().out
    assert not ex.check_hole_question("")

