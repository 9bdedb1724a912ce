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
    per_image = zeroed.flatten(1).float().mean(1)  # (N,)
    if bool((per_image == 1).any()):  # at p = 0.3 all 64 pixels of an image are masked with probability 0.3^64
        return report(False, "your function masks whole images (all pixels or none); each PIXEL is masked independently: "
                             "draw one random number per pixel, with the shape of x")
    if abs(frac - 0.3) > 0.02:
        return report(False, f"with p = 0.3 about 30% of the pixels should become 0, yours zeroed {frac:.0%}; "
                             "compare one uniform random number per pixel with p")
    if bool((zeroed == zeroed[:1]).all()):
        return report(False, "every image got the same mask; draw a random number for every pixel of every image "
                             "(torch.rand_like(x)), not one mask of shape (H, W) shared by the batch")
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
    if abs(gain - truth) <= 0.3:  # one noise draw of 360 images moves the gain by up to about 0.2 dB
        return report(True, "", f"the denoiser gains about {truth:.1f} dB at sigma {sigma}")
    if abs(-gain - truth) <= 0.3:
        return report(False, "the sign is flipped: the gain is PSNR(clean, denoised) minus PSNR(clean, noisy)")
    if sigma != 0.3 and abs(gain - _psnr_gain(model, x, 0.3)) <= 0.3:
        return report(False, f"that is the gain at sigma 0.3, where the denoiser was trained; the question is sigma {sigma}")
    denoised_only = sum(inference.denoise(model, x, "gaussian", sigma, seed=s)["psnr_denoised"] for s in SEEDS) / len(SEEDS)
    if abs(gain - denoised_only) <= 0.3:
        return report(False, "that is the PSNR of the denoised images alone; the gain subtracts the PSNR of the noisy input")
    return report(False, f"not what the check measures at sigma {sigma}; corrupt with ae.corrupt(x, 'gaussian', {sigma}), "
                         "denoise with model(noisy) under torch.no_grad(), and compare both against the CLEAN x "
                         "with metrics.psnr")


def check_level_scores(scores, models, x, test_sigma=0.5):
    """scores: {training level: PSNR (dB) of that model's output at Gaussian test_sigma}, for every model in `models`."""
    if not isinstance(models, dict) or not models:
        return report(False, "pass the dict of denoisers keyed by their training noise level (sweep in the notebook)")
    if not isinstance(scores, dict):
        return report(False, f"answer with a dict {{training level: PSNR in dB}} for every model, got {type(scores).__name__}")
    if set(scores) != set(models):
        return report(False, f"give one PSNR for each training level {sorted(models)}, got keys {sorted(scores)}")
    if any(_number(v) is None for v in scores.values()):
        return report(False, "each value must be one number: the PSNR in dB of that model's output")
    truth = {level: sum(inference.denoise(m, x, "gaussian", test_sigma, seed=s)["psnr_denoised"] for s in SEEDS) / len(SEEDS)
             for level, m in models.items()}
    wrong = [level for level in models if abs(_number(scores[level]) - truth[level]) > 0.2]
    if wrong:
        return report(False, f"the PSNR for training level(s) {wrong} is not what the check measures at test sigma {test_sigma}: "
                             "corrupt the CLEAN test images at that sigma, run each model, compare its output with the clean images")
    best = max(truth, key=truth.get)
    tied = sorted(level for level in truth if truth[level] >= truth[best] - 0.2 and level != best)
    tie = f"; within 0.2 dB of it: {tied}, so call it a tie" if tied else ""
    return report(True, "", f"at test sigma {test_sigma} the best training level is {best} ({truth[best]:.1f} dB){tie}")


WHY_NO_COPY = {
    "a": "its code is too small to copy the input",
    "b": "its input is freshly corrupted each step and its target is the clean image, so a copy would reproduce the noise",
    "c": "its decoder's sigmoid cannot output the identity",
    "d": "it trained for fewer epochs than the plain autoencoder",
}
_WHY_HINTS = {
    "a": "both overcomplete models have 128 code units for 64 pixels: either could hold a copy of its input",
    "c": "the plain overcomplete model has the same decoder and reproduces clean images almost exactly",
    "d": "both trained for the same epochs from the same initial weights",
}


def check_why_no_copy(answer):
    """Conceptual: why an overcomplete denoiser does not learn the identity (one letter of WHY_NO_COPY)."""
    letter = str(answer).strip().lower()[:1] if isinstance(answer, str) else ""
    if letter not in WHY_NO_COPY:
        return report(False, f"answer with one letter: {', '.join(WHY_NO_COPY)}")
    if letter != "b":
        return report(False, _WHY_HINTS[letter])
    return report(True, "", "copying is what the loss punishes: the output is compared with x, the input was x~")
