"""Checks for notebook 06 (denoising photographs): PSNR of noise, tuning on the test photo, noise-level mismatch,
why a fully convolutional network reads any image size."""
import math

import numpy as np
import torch

from . import number as _number, report, multiple_choice
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
    if math.isclose(denoiser.config.noise_level, sigma):
        return report(False, f"this denoiser was trained at sigma {sigma:g}, the level of the noise: the exercise runs "
                             f"one trained at another level (denoisers[0.1]) on sigma {sigma:g} noise")
    if not (isinstance(photo, torch.Tensor) and photo.ndim == 4):
        return report(False, "photo must be the (1, 1, H, W) tensor from ae.load_photo")
    denoiser.eval()
    dev = next(denoiser.parameters()).device
    truth = metrics.psnr(photo, denoiser(_noisy(photo, sigma).to(dev)).cpu())
    return report(abs(answer - truth) <= 0.3,
                  f"run this denoiser (trained at sigma {denoiser.config.noise_level:g}) on add_noise(photo, {sigma}) "
                  "and take metrics.psnr against the clean photo",
                  f"that is the PSNR of a denoiser trained at sigma {denoiser.config.noise_level:g} on noise of sigma {sigma}")


# Why the patch-trained U-Net runs on the whole photograph: a multiple choice.
SIZE_CHOICES = {
    "a": "the U-Net has more parameters than the conv model, so it can handle larger images",
    "b": "every U-Net weight belongs to a small filter that slides over the image, so no weight depends on the image "
         "size; the conv model's dense layer has one weight per position of its 16x16 input's feature map",
    "c": "the U-Net resizes the 256x256 photo to 16x16, denoises it and resizes it back",
}
SIZE_HINTS = {
    "a": "count is not the point: look at which layer made the conv model fail in section 2, and what shape of input "
         "its weights were made for",
    "c": "the output had shape (1, 1, 256, 256) and kept the photo's detail; nothing is resized. Look at which kinds "
         "of layers each model has",
}


def check_size_question(answer):
    """answer: 'a', 'b' or 'c' (see SIZE_CHOICES)."""
    return multiple_choice(answer, SIZE_CHOICES, "b", "convolutions, pooling and up-sampling work at any size (sides multiples of 4 here); "
                           "a dense layer fixes the input size", SIZE_HINTS)
