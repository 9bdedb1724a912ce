"""Checks for notebook 08 (inpainting): PSNR inside the block, where the hole sits, training at another block size,
why a blind inpainter does worse on smaller holes."""
import math

import torch

from . import number as _number, report, multiple_choice
from ..data import block_occlusion


def _psnr_in(filled, x, mask):
    err = float(((filled.double() - x.double())[mask.expand_as(x)] ** 2).mean())
    return float("inf") if err == 0 else 10 * math.log10(1 / err)


@torch.no_grad()
def _model_psnr(model, x, size, position=None):
    """The notebook's measurement: seeded random blocks (or one position), known pixels kept, PSNR inside the block."""
    occluded, mask = block_occlusion(x, size, position=position, generator=torch.Generator().manual_seed(0))
    model.eval()
    out = model(occluded.to(next(model.parameters()).device)).cpu()
    return _psnr_in(torch.where(mask, out, x), x, mask)


def _beats_mean_digit(model, x):
    """A trained inpainter fills its own block size better than the average image of x does (an untrained one,
    whose output is nearly constant, does not)."""
    size = model.config.block
    occluded, mask = block_occlusion(x, size, generator=torch.Generator().manual_seed(0))
    return _model_psnr(model, x, size) > _psnr_in(torch.where(mask, x.mean(0, keepdim=True), occluded), x, mask)


def _is_inpainter(model):
    return getattr(getattr(model, "config", None), "corruption", None) == "block"  # trained with occluded blocks



def check_block_psnr(fn, seed=0):
    """fn(filled, x, mask) -> PSNR in dB over the masked pixels only, compared on random images and blocks."""
    if not callable(fn):
        return report(False, f"pass your function itself (block_psnr, without calling it), got {type(fn).__name__}")
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(6, 1, 8, 8, generator=g)
    occluded, mask = block_occlusion(x, 3, generator=g)
    filled = torch.where(mask, torch.rand(x.shape, generator=g), x)  # wrong only inside the block
    try:
        value = float(fn(filled, x, mask))
    except Exception as err:
        return report(False, f"block_psnr(filled, x, mask) raised {type(err).__name__}: {err}")
    truth = _psnr_in(filled, x, mask)
    whole = 10 * math.log10(1 / float(((filled - x) ** 2).mean()))
    if math.isclose(value, whole, abs_tol=1e-3):
        return report(False, "that is the PSNR of the whole image: average the squared error over the masked pixels only "
                             "(index with mask.expand_as(x))")
    return report(math.isclose(value, truth, abs_tol=1e-3),
                  "PSNR = 10 log10(1 / MSE), where the MSE averages (filled - x)^2 over the pixels where mask is True",
                  "the error counted only where the model had to guess")


def check_position(psnr_corner, psnr_centre, model, test, size=3):
    """PSNR inside a size x size block at the top-left corner and at the centre, each within 0.3 dB."""
    if _number(psnr_corner) is None or _number(psnr_centre) is None:
        return report(False, "psnr_corner and psnr_centre must be finite numbers of dB")
    if not _is_inpainter(model):
        return report(False, "pass the inpainting model you used (models[3]) as the third argument")
    if model.config.block != size:
        return report(False, f"this model was trained with block={model.config.block}; the exercise asks about the "
                             f"model trained on {size}x{size} holes (models[{size}])")
    _, h, w = test.shape
    corner = _model_psnr(model, test.x, size, (0, 0))
    centre = _model_psnr(model, test.x, size, ((h - size) // 2, (w - size) // 2))
    if abs(psnr_corner - corner) > 0.3:
        return report(False, "corner: occlude with position=(0, 0), keep the known pixels, and score only the block")
    if abs(psnr_centre - centre) > 0.3:
        return report(False, f"centre: for a {size}x{size} block in a {h}x{w} image the centre position is "
                             f"(({h} - {size}) // 2, ({w} - {size}) // 2)")
    return report(True, "", "both match; compare them: a hole on black background is easy to fill, and looks like no hole at all")


def check_trained_block(model, others, test):
    """A model trained with block=4 must beat each of `others` (trained at other sizes) at block size 4."""
    if not _is_inpainter(model):
        return report(False, "model must be an inpainting autoencoder: ae.make_model('inpainting', ..., block=4)")
    if model.config.block != 4:
        return report(False, f"this model was trained with block={model.config.block}; build it with block=4")
    if not (isinstance(others, dict) and others and all(_is_inpainter(m) for m in others.values())):
        return report(False, "others must be the notebook's dict of inpainting models, e.g. models")
    if not {3, 5} <= {m.config.block for m in others.values()}:
        return report(False, "others must hold the notebook's models trained at block sizes 3 and 5 (models)")
    untrained = [m.config.block for m in others.values() if not _beats_mean_digit(m, test.x)]
    if untrained:
        return report(False, f"the model trained at block {untrained[0]} in others does not even beat filling with the "
                             "average image at its own size: pass the notebook's trained models")
    mine = _model_psnr(model, test.x, 4)
    beaten = {k: _model_psnr(m, test.x, 4) for k, m in others.items()}
    losers = [k for k, v in beaten.items() if v >= mine]
    return report(not losers,
                  f"at block 4 your model scores {mine:.2f} dB but the model trained at {losers} does as well: "
                  "train it as long as the others (same epochs and bottleneck)",
                  "at block 4 it beats every model trained at another size: each model is best at the hole it learned")


# Why a model trained on 5x5 holes fills 3x3 holes worse than 5x5 ones: a multiple choice.
HOLE_CHOICES = {
    "a": "a 3x3 hole hides more of the digit than a 5x5 hole",
    "b": "the model is not told where the hole is: it learned that a 5x5 block of zeros is a hole, so a smaller "
         "black patch looks like part of the digit's black background and is partly copied instead of filled",
    "c": "the PSNR inside a smaller block is computed over fewer pixels, so it is always lower",
}
HOLE_HINTS = {
    "a": "a 3x3 hole hides 9 pixels, a 5x5 one 25: the smaller hole is the easier guess. Ask what the model "
         "has to do before it can fill a hole, given that nobody tells it where the hole is",
    "c": "the PSNR is a mean over the hidden pixels, so the number of pixels alone does not lower it (biharmonic "
         "scores higher on smaller holes). Ask what the model has to recognise before it can fill a hole",
}


def check_hole_question(answer):
    """answer: 'a', 'b' or 'c' (see HOLE_CHOICES)."""
    return multiple_choice(answer, HOLE_CHOICES, "b", "a blind inpainter learns the look of its training hole as well as how to fill it; "
                           "giving it the mask as an input removes that problem", HOLE_HINTS)
