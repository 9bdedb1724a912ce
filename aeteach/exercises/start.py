"""Checks for 00_start_here: a reference error, the worst-reconstructed digit, and decoding a blended code."""
import torch

from . import close, report


def _is_model(model):
    return isinstance(model, torch.nn.Module) and callable(getattr(model, "encode", None))


def _device(model):
    return next(model.parameters()).device


def check_mean_baseline(train, test, answer):
    """answer: the test MSE of always predicting the mean training image."""
    if not isinstance(answer, (int, float, torch.Tensor)) or (isinstance(answer, torch.Tensor) and answer.numel() != 1):
        return report(False, f"answer should be one number (a float), got {type(answer).__name__}")
    truth = float(((train.x.mean(0, keepdim=True) - test.x) ** 2).mean())
    if close(answer, truth, rel=0.01):
        return report(True, "", f"the mean image scores MSE {truth:.3f}: any useful autoencoder must beat this")
    return report(False, "average train.x over the examples (dim 0) into one image, then take the mean of the squared "
                         "difference to every test image, over all pixels and images")


def check_worst_digit(model, test, answer):
    """answer: the label (0-9) whose test images the model reconstructs with the largest mean MSE."""
    if not _is_model(model):
        return report(False, f"pass the trained model first, got {type(model).__name__}")
    try:
        answer = int(answer)
    except (TypeError, ValueError):
        return report(False, f"answer should be a digit label 0-9, got {answer!r}")
    model.eval()
    with torch.no_grad():
        err = ((model(test.x.to(_device(model))).cpu() - test.x) ** 2).flatten(1).mean(1)  # (N,) per-image MSE
    labels = test.y
    per_class = torch.stack([err[labels == c].mean() for c in range(10)])
    truth = int(per_class.argmax())
    if answer == truth:
        return report(True, "", "that is the digit this model reconstructs worst")
    return report(False, "compute one MSE per test image (mean over its pixels), then average those within each label "
                         "(test.y == c) and take the label with the largest average, not the smallest")


def check_blend(model, xa, xb, image):
    """image: g of the code halfway between f(xa) and f(xb), shaped like xa."""
    if not _is_model(model):
        return report(False, f"pass the trained model first, got {type(model).__name__}")
    if not isinstance(image, torch.Tensor):
        return report(False, f"image should be a torch.Tensor shaped like xa {tuple(xa.shape)}, got {type(image).__name__}")
    if tuple(image.shape) != tuple(xa.shape):
        return report(False, f"image should have the shape of xa {tuple(xa.shape)}, got {tuple(image.shape)}: "
                             "decode one code, not two")
    model.eval()
    dev = _device(model)
    xa, xb = xa.to(dev), xb.to(dev)
    with torch.no_grad():
        truth = model.decode((model.encode(xa) + model.encode(xb)) / 2).cpu()
        pixel_blend = model((xa + xb) / 2).cpu()
    image = image.detach().float().cpu()
    if float((image - truth).abs().max()) < 1e-4:
        return report(True, "", "this is a new image made in code space, not a pixel average")
    if float((image - pixel_blend).abs().max()) < 1e-4:
        return report(False, "you averaged the pixels and reconstructed that; average the codes model.encode(...) instead")
    return report(False, "encode both images, average the two codes, and decode the average with model.decode")
