"""The checks of notebook 06 pass the solutions and reject wrong answers with a hint."""
import numpy as np
import torch
from scipy import ndimage

import aeteach as ae
from aeteach import metrics
from aeteach.exercises import app_denoising as ex


def test_noise_psnr(capsys):
    assert ex.check_noise_psnr(20 * np.log10(1 / 0.2), sigma=0.2)
    assert not ex.check_noise_psnr(10 * np.log10(1 / 0.2), sigma=0.2)
    assert "MSE sigma^2" in capsys.readouterr().out
    assert not ex.check_noise_psnr("14 dB")


def test_oracle_tv(capsys):
    photo = ae.load_photo("camera", size=64)
    grid = ex.TV_GRID
    best = max(grid, key=lambda w: ex._tv_psnr(photo, 0.3, w))
    assert ex.check_oracle_tv(float(best), photo, sigma=0.3)
    assert not ex.check_oracle_tv(0.02, photo, sigma=0.3)
    assert "finer sweep" in capsys.readouterr().out
    assert not ex.check_oracle_tv(-1.0, photo)
    assert not ex.check_oracle_tv(0.2, photo[0])


def test_mismatch(capsys):
    photo = ae.load_photo("camera", size=32)
    model = ae.make_model("denoising", (1, 16, 16), 4, arch="unet", channels=(4, 4), noise_level=0.1)
    noisy = ae.corrupt(photo, "gaussian", 0.3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        truth = metrics.psnr(photo, model(noisy))
    assert ex.check_mismatch(truth, model, photo, sigma=0.3)
    assert not ex.check_mismatch(truth + 2.0, model, photo, sigma=0.3)
    assert "trained at sigma 0.1" in capsys.readouterr().out
    assert not ex.check_mismatch(truth, ndimage, photo)
    assert not ex.check_mismatch(None, model, photo)


def test_mismatch_rejects_the_denoiser_trained_at_the_noise_level(capsys):
    photo = ae.load_photo("camera", size=32)
    matched = ae.make_model("denoising", (1, 16, 16), 4, arch="unet", channels=(4, 4), noise_level=0.3)
    noisy = ae.corrupt(photo, "gaussian", 0.3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        own = metrics.psnr(photo, matched(noisy))  # the lazy answer: the matched denoiser's own score
    assert not ex.check_mismatch(own, matched, photo, sigma=0.3)
    assert "denoisers[0.1]" in capsys.readouterr().out


def test_size_question(capsys):
    assert ex.check_size_question("b")
    assert ex.check_size_question("(b)")
    for wrong in ("a", "c"):
        assert not ex.check_size_question(wrong)
        assert "layer" in capsys.readouterr().out
    assert not ex.check_size_question("z")



def test_oracle_tv_rejects_the_weight_tuned_on_the_training_photo(capsys):
    # the lazy answer: the table's TV weight at sigma 0.3 (0.3, tuned on the astronaut), 0.2 dB below the camera's best
    assert not ex.check_oracle_tv(0.3, ae.load_photo("camera", size=256), sigma=0.3)
    assert "finer sweep" in capsys.readouterr().out
