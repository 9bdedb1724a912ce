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
    assert not ex.check_masking(lambda x, p: x * (torch.rand(len(x), 1, 1, 1) >= p))  # whole images, not pixels
    assert "whole images" in capsys.readouterr().out
    def one_mask_for_the_batch(x, p):  # a fresh mask per call with exactly the right fraction, shared by all images
        d = x[0].numel()
        mask = torch.ones(d)
        mask[torch.randperm(d)[:round(p * d)]] = 0
        return x * mask.reshape(1, *x.shape[1:])
    assert not ex.check_masking(one_mask_for_the_batch)
    assert "same mask" in capsys.readouterr().out
    assert not ex.check_masking(lambda x, p: x)  # lazy: no masking at all
    assert "30%" in capsys.readouterr().out
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
    assert not ex.check_psnr_gain(r["psnr_denoised"], model, test.x, sigma=0.5)  # lazy: the denoised PSNR alone
    assert "denoised images alone" in capsys.readouterr().out
    r3 = inference.denoise(model, test.x, "gaussian", 0.3, seed=99)  # lazy: the gain already printed, at sigma 0.3
    assert not ex.check_psnr_gain(r3["psnr_denoised"] - r3["psnr_noisy"], model, test.x, sigma=0.5)
    assert "sigma 0.3" in capsys.readouterr().out
    assert not ex.check_psnr_gain(round(gain), model, test.x, sigma=0.5) or abs(round(gain) - gain) <= 0.3  # a guess
    assert not ex.check_psnr_gain("3 dB", model, test.x)
    assert "one number" in capsys.readouterr().out


def test_level_scores_need_every_computed_psnr(digits, sweep, capsys):
    _, test = digits
    scores = {lvl: inference.denoise(m, test.x, "gaussian", 0.5, seed=0)["psnr_denoised"] for lvl, m in sweep.items()}
    assert ex.check_level_scores(scores, sweep, test.x, test_sigma=0.5)
    assert "best training level" in capsys.readouterr().out
    assert not ex.check_level_scores(0.5, sweep, test.x)  # lazy: the test level itself, no measurement
    assert "dict" in capsys.readouterr().out
    assert not ex.check_level_scores({0.5: scores[0.5]}, sweep, test.x)  # only the level one guesses is best
    assert "each training level" in capsys.readouterr().out
    guessed = {lvl: 15.0 for lvl in sweep}  # lazy: numbers read roughly off the figure
    assert not ex.check_level_scores(guessed, sweep, test.x)
    assert "not what the check measures" in capsys.readouterr().out
    noisy_in = {lvl: inference.denoise(m, test.x, "gaussian", 0.5, seed=0)["psnr_noisy"] for lvl, m in sweep.items()}
    assert not ex.check_level_scores(noisy_in, sweep, test.x)  # the noisy input's PSNR for every model


def test_why_no_copy_takes_only_the_right_letter(capsys):
    assert ex.check_why_no_copy("b") and ex.check_why_no_copy(" B) the noise")
    for wrong, hint in (("a", "128 code units"), ("c", "same decoder"), ("d", "same epochs")):
        assert not ex.check_why_no_copy(wrong)
        assert hint in capsys.readouterr().out
    assert not ex.check_why_no_copy(2) and not ex.check_why_no_copy("")
    assert "one letter" in capsys.readouterr().out
