"""Checks for notebook 06 (denoising photographs): PSNR of noise, tuning on the test photo, noise-level mismatch."""
import math

import numpy as np
import torch

from . import number as _number, report
from .. import metrics
from ..data import corrupt

TV_GRID = tuple(np.round(np.arange(0.02, 0.61, 0.02), 2))  # the weights the oracle search tries



def _noisy(photo, sigma):
    """The notebook's add_noise: Gaussian noise with seed 0, clamped to [0, 1]."""
    return corrupt(photo, "gaussian", sigma, generator=torch.Generator().manual_seed(0))


def check_noise_psnr(answer, sigma=0.2):
    """PSNR in dB of Gaussian noise of std sigma on [0, 1] images, ignoring clipping: -20 log10(sigma)."""
    if _number(answer) is None:
        return report(False, f"answer must be a number of dB, got {type(answer).__name__}")
    truth = -20 * math.log10(sigma)
    return report(abs(answer - truth) <= 0.1,
                  "PSNR = 10 log10(1 / MSE) for a peak value of 1, and noise of standard deviation sigma has MSE sigma^2",
                  f"{answer:.2f} dB: the noise alone sets the PSNR at {truth:.2f} dB before clipping")


def _tv_psnr(photo, sigma, weight):
    from skimage.restoration import denoise_tv_chambolle
    noisy = _noisy(photo, sigma)[0, 0].numpy()
    out = denoise_tv_chambolle(noisy, weight=float(weight)).astype(np.float32)
    return metrics.psnr(photo, torch.from_numpy(out)[None, None])


def check_oracle_tv(weight, photo, sigma=0.3):
    """The TV weight that maximises PSNR on the test photo itself: within 0.1 dB of the best weight on a fine grid."""
    if _number(weight) is None or not 0 < weight <= 2:
        return report(False, f"weight must be a number in (0, 2], got {weight!r}")
    if not (isinstance(photo, torch.Tensor) and photo.ndim == 4 and photo.shape[:2] == (1, 1)):
        return report(False, "photo must be the (1, 1, H, W) tensor from ae.load_photo")
    best = max(TV_GRID, key=lambda w: _tv_psnr(photo, sigma, w))
    best_db, yours = _tv_psnr(photo, sigma, best), _tv_psnr(photo, sigma, weight)
    return report(yours >= best_db - 0.1,
                  f"weight {weight:g} gives {yours:.2f} dB on the camera at sigma {sigma}; try a finer sweep of weights "
                  "and keep the one with the highest PSNR against the clean photo",
                  "as good as the best weight on a fine grid: the PSNR a baseline reaches when tuned on the test photo")


@torch.no_grad()
def check_mismatch(answer, denoiser, photo, sigma=0.3):
    """PSNR of a denoiser applied to noise of a level it was not trained for, within 0.3 dB."""
    if _number(answer) is None:
        return report(False, f"answer must be a number of dB, got {type(answer).__name__}")
    if getattr(getattr(denoiser, "config", None), "corruption", None) != "noise":  # trained on noisy inputs
        return report(False, "pass the denoiser you ran (one of the `denoisers` dict), as the second argument")
    if not (isinstance(photo, torch.Tensor) and photo.ndim == 4):
        return report(False, "photo must be the (1, 1, H, W) tensor from ae.load_photo")
    denoiser.eval()
    dev = next(denoiser.parameters()).device
    truth = metrics.psnr(photo, denoiser(_noisy(photo, sigma).to(dev)).cpu())
    return report(abs(answer - truth) <= 0.3,
                  f"run this denoiser (trained at sigma {denoiser.config.noise_level:g}) on add_noise(photo, {sigma}) "
                  "and take metrics.psnr against the clean photo",
                  f"that is the PSNR of a denoiser trained at sigma {denoiser.config.noise_level:g} on noise of sigma {sigma}")
