"""The notebook 04 checks: the solutions pass, typical mistakes get a hint."""
import pytest
import torch

import aeteach as ae
from aeteach import inference
from aeteach.exercises import denoising as ex


@pytest.fixture(scope="module")
def sweep(digits):
    train, _ = digits
    models = {}
    for level in (0.1, 0.5):
        models[level] = ae.make_model("denoising", train.shape, 8, noise_level=level, seed=0)
        ae.fit(models[level], train, epochs=8, progress=False)
    return models


def test_masking_solution_passes_and_mistakes_get_hints(capsys):
    assert ex.check_masking(lambda x, p: torch.where(torch.rand_like(x) >= p, x, torch.zeros_like(x)))
    assert not ex.check_masking(lambda x, p: x * (torch.rand_like(x) >= 0.5))  # ignores p
    assert "30%" in capsys.readouterr().out
    assert not ex.check_masking(lambda x, p: x.masked_fill_(torch.rand_like(x) < p, 0))  # in place
    assert "in place" in capsys.readouterr().out
    assert not ex.check_masking(lambda x, p: torch.where(torch.rand_like(x) < p, torch.zeros_like(x), x + 0.1))
    assert "keep their value" in capsys.readouterr().out
    fixed = torch.rand(400, 1, 8, 8, generator=torch.Generator().manual_seed(5)) >= 0.3
    assert not ex.check_masking(lambda x, p: x * fixed)  # the same mask every call
    assert "fresh random" in capsys.readouterr().out
    assert not ex.check_masking("my_masking")
    assert "function itself" in capsys.readouterr().out


def test_psnr_gain_recomputes_the_truth(digits, sweep, capsys):
    _, test = digits
    model = sweep[0.5]
    r = inference.denoise(model, test.x, "gaussian", 0.5, seed=99)  # another noise draw than the check's
    gain = r["psnr_denoised"] - r["psnr_noisy"]
    assert ex.check_psnr_gain(gain, model, test.x, sigma=0.5)
    assert ex.check_psnr_gain(torch.tensor(gain), model, test.x, sigma=0.5)
    assert not ex.check_psnr_gain(-gain, model, test.x, sigma=0.5)
    assert "sign" in capsys.readouterr().out
    assert not ex.check_psnr_gain(gain + 2, model, test.x, sigma=0.5)
    assert "CLEAN" in capsys.readouterr().out
    assert not ex.check_psnr_gain("3 dB", model, test.x)
    assert "one number" in capsys.readouterr().out


def test_best_level_accepts_the_best_and_rejects_the_worst(digits, sweep, capsys):
    _, test = digits
    scores = {lvl: inference.denoise(m, test.x, "gaussian", 0.5, seed=0)["psnr_denoised"] for lvl, m in sweep.items()}
    best, worst = max(scores, key=scores.get), min(scores, key=scores.get)
    assert scores[best] - scores[worst] > 0.2  # the two models really differ at this test level
    assert ex.check_best_level(best, sweep, test.x, test_sigma=0.5)
    assert not ex.check_best_level(worst, sweep, test.x, test_sigma=0.5)
    assert "another training level" in capsys.readouterr().out
    assert not ex.check_best_level(0.7, sweep, test.x)
    assert "one of the training levels" in capsys.readouterr().out
