"""Exercise checks of 00_start_here: the solutions pass, typical mistakes get a hint."""
import numpy as np
import pytest
import torch

import aeteach as ae
from aeteach.exercises import start as ex


@pytest.fixture(scope="module")
def setup():
    train, test = ae.load_dataset("digits"), ae.load_dataset("digits", "test")
    model = ae.make_model("undercomplete", train, 8, seed=0)
    ae.fit(model, train, epochs=3, seed=0, progress=False)
    return train, test, model


def test_mean_baseline(setup, capsys):
    train, test, _ = setup
    mean_image = train.x.mean(0, keepdim=True)
    baseline = ((test.x - mean_image) ** 2).mean().item()
    assert ex.check_mean_baseline(train, test, mean_image, baseline)
    assert ex.check_mean_baseline(train, test, mean_image[0], baseline)  # (C, H, W) is one image too
    assert "PASS" in capsys.readouterr().out
    # lazy: the test set's own mean image (its MSE is only 0.2 % lower, so a tolerance on the number alone misses it)
    test_mean = test.x.mean(0, keepdim=True)
    assert not ex.check_mean_baseline(train, test, test_mean, ((test.x - test_mean) ** 2).mean().item())
    assert "TEST images" in capsys.readouterr().out
    assert not ex.check_mean_baseline(train, test, mean_image, ((test.x - test_mean) ** 2).mean().item())
    assert not ex.check_mean_baseline(train, test, train.x.mean(), baseline)  # one number, not an image
    assert not ex.check_mean_baseline(train, test, mean_image, ((train.x - mean_image) ** 2).mean().item())
    assert "training images" in capsys.readouterr().out
    assert not ex.check_mean_baseline(train, test, mean_image, "0.07")
    assert not ex.check_mean_baseline(train, test, mean_image.numpy(), baseline)
    assert "NOT YET" in capsys.readouterr().out


def test_bottleneck_question(capsys):
    assert ex.check_bottleneck_question("b") and ex.check_bottleneck_question(" (B) ")
    for wrong in ("a", "c"):
        assert not ex.check_bottleneck_question(wrong)
        out = capsys.readouterr().out
        assert "NOT YET" in out and "think about" in out
    assert not ex.check_bottleneck_question("d")
    assert "one letter" in capsys.readouterr().out


def test_worst_digit(setup, capsys):
    train, test, model = setup
    with torch.no_grad():
        per_image = ((model(test.x) - test.x) ** 2).flatten(1).mean(1)
    per_digit = [per_image[test.y == d].mean().item() for d in range(10)]
    assert ex.check_worst_digit(model, test, int(np.argmax(per_digit)))
    assert not ex.check_worst_digit(model, test, int(np.argmin(per_digit)))
    assert "largest average" in capsys.readouterr().out
    assert not ex.check_worst_digit("model", test, 3)


def test_blend(setup, capsys):
    _, test, model = setup
    xa, xb = test.x[:1], test.x[1:2]
    with torch.no_grad():
        blend = model.decode((model.encode(xa) + model.encode(xb)) / 2)
        pixel = model((xa + xb) / 2)
    assert ex.check_blend(model, xa, xb, blend)
    assert not ex.check_blend(model, xa, xb, pixel)
    assert "average the codes" in capsys.readouterr().out
    assert not ex.check_blend(model, xa, xb, torch.cat([blend, blend]))
    assert not ex.check_blend(model, xa, xb, blend.numpy())
