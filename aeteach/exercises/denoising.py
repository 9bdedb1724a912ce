"""Checks for notebook 04 (denoising autoencoders)."""

import torch

from .. import inference
from . import number as _number, report

SEEDS = (11, 12, 13)  # the check averages its own noise draws, so any seed the student used is fine


def _is_images(x):
    return isinstance(x, torch.Tensor) and x.is_floating_point() and x.dim() == 4



def _psnr_gain(model, x, sigma):
    """PSNR(denoised) - PSNR(noisy) in dB at Gaussian sigma, averaged over SEEDS."""
    runs = [inference.denoise(model, x, "gaussian", sigma, seed=s) for s in SEEDS]  # moves x to the model's device
    return sum(r["psnr_denoised"] - r["psnr_noisy"] for r in runs) / len(runs)


def check_masking(fn):
    """fn(x, p) must zero each pixel with probability p and leave the others (and x itself) unchanged."""
    if not callable(fn):
        return report(False, f"pass your function itself (e.g. my_masking), not {type(fn).__name__}")
    x = torch.rand(400, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 0.9 + 0.1  # no zeros to start with
    before = x.clone()
    try:
        out = fn(x, 0.3)
    except Exception as err:
        return report(False, f"calling fn(x, 0.3) raised {type(err).__name__}: {err}")
    if not _is_images(out) or out.shape != x.shape:
        return report(False, f"return a float tensor with the shape of x {tuple(x.shape)}, got "
                             f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
    if not torch.equal(x, before):
        return report(False, "your function changed x in place; build a new tensor (torch.where, or x * keep)")
    zeroed = out == 0
    if not torch.equal(out[~zeroed], x[~zeroed]):
        return report(False, "pixels that are not masked must keep their value exactly: masking sets some pixels to 0 "
                             "and adds nothing to the rest")
    frac = float(zeroed.float().mean())
    if abs(frac - 0.3) > 0.02:
        return report(False, f"with p = 0.3 about 30% of the pixels should become 0, yours zeroed {frac:.0%}; "
                             "compare one uniform random number per pixel with p")
    other = fn(x, 0.3)
    if torch.equal(other, out):
        return report(False, "two calls gave the same mask: draw fresh random numbers on every call (torch.rand_like)")
    return report(True, "", f"your masking noise zeroes {frac:.1%} of the pixels at p = 0.3, and only those")


def check_psnr_gain(gain, model, x, sigma=0.5):
    """gain: PSNR(denoised) - PSNR(noisy) in dB for `model` on x with Gaussian noise of this sigma."""
    if _number(gain) is None:
        return report(False, f"give the gain as one number in dB, got {type(gain).__name__}")
    if not isinstance(model, torch.nn.Module):
        return report(False, f"pass the trained denoiser as model, got {type(model).__name__}")
    if not _is_images(x):
        return report(False, "pass the clean test images as x, a tensor (N, C, H, W)")
    gain, truth = _number(gain), _psnr_gain(model, x, sigma)
    if abs(gain - truth) <= 0.3:
        return report(True, "", f"the denoiser gains about {truth:.1f} dB at sigma {sigma}")
    if abs(-gain - truth) <= 0.3:
        return report(False, "the sign is flipped: the gain is PSNR(clean, denoised) minus PSNR(clean, noisy)")
    return report(False, f"not what the check measures at sigma {sigma}; corrupt with ae.corrupt(x, 'gaussian', {sigma}), "
                         "denoise with model(noisy) under torch.no_grad(), and compare both against the CLEAN x "
                         "with metrics.psnr")


def check_best_level(answer, models, x, test_sigma=0.5):
    """answer: the training noise level (a key of models) whose denoiser has the highest PSNR at test_sigma."""
    if not isinstance(models, dict) or not models:
        return report(False, "pass the dict of denoisers keyed by their training noise level (sweep in the notebook)")
    if answer not in models:
        return report(False, f"answer with one of the training levels {sorted(models)}, got {answer!r}")
    scores = {level: _psnr_gain(m, x, test_sigma) for level, m in models.items()}
    best = max(scores.values())
    if scores[answer] >= best - 0.1:  # ties within 0.1 dB are noise, not a difference
        return report(True, "", f"training at {answer} gives {scores[answer]:+.1f} dB over the noisy input at test sigma {test_sigma}")
    return report(False, f"another training level does better at test sigma {test_sigma}; evaluate every model on "
                         "the same noisy images and take the largest PSNR")
