"""Checks for 00_start_here: a reference error, why the code is narrow, the worst-reconstructed digit, a blended code."""
import torch

from . import number, report, multiple_choice


def _is_model(model):
    return isinstance(model, torch.nn.Module) and callable(getattr(model, "encode", None))


def _device(model):
    return next(model.parameters()).device


def check_mean_baseline(train, test, mean_image, baseline):
    """mean_image: the mean TRAINING image (1, C, H, W) or (C, H, W); baseline: its test MSE (always predicting it)."""
    if not isinstance(mean_image, torch.Tensor):
        return report(False, f"mean_image should be a torch.Tensor (one image), got {type(mean_image).__name__}")
    image = mean_image.detach().float().cpu().reshape(-1)
    shape = tuple(train.x.shape[1:])
    if image.numel() != train.x[0].numel():
        return report(False, f"mean_image should be one image of shape {shape} (or (1, *{shape})), "
                             f"got {tuple(mean_image.shape)}: average over the examples only (dim 0)")
    value = number(baseline)
    if value is None:
        return report(False, f"baseline should be one number (a float), got {type(baseline).__name__}")
    truth_image = train.x.mean(0).reshape(-1)
    if float((image - test.x.mean(0).reshape(-1)).abs().max()) < 1e-6:
        return report(False, "that is the mean of the TEST images: a model may only learn from train.x, "
                             "so the lazy model outputs the mean training image")
    if float((image - truth_image).abs().max()) > 1e-5:
        return report(False, "mean_image is not the mean training image: average train.x over dim 0 (the examples), "
                             "keeping every pixel")
    # the error of the student's own image on the test set: rel 1e-4 is far below the 0.2 % gap to the test mean
    truth = float(((test.x.reshape(len(test.x), -1) - image) ** 2).mean())
    if abs(value - truth) <= 1e-4 * truth:
        return report(True, "", f"the mean training image scores test MSE {truth:.3f}: any useful autoencoder must beat this")
    on_train = float(((train.x.reshape(len(train.x), -1) - image) ** 2).mean())
    if abs(value - on_train) <= 1e-4 * on_train:
        return report(False, "that is its error on the training images; compare mean_image with every TEST image")
    return report(False, "take the mean of the squared difference between mean_image and every test image, "
                         "over all pixels and all test images")


# Why the code must be narrow: a multiple choice. Each wrong choice gets a hint that points at the reason.
BOTTLENECK_CHOICES = {
    "a": "with k >= 64 the network would be too large to train on 1437 images",
    "b": "with k >= 64 the encoder could pass every pixel through unchanged, so nothing would force it to find "
         "what the digits have in common",
    "c": "the sigmoid at the output only works when the code is smaller than the image",
}
BOTTLENECK_HINTS = {
    "a": "the size of the network hardly depends on k (most weights are in the 256-unit layers); think about what "
         "the network could do with 64 or more numbers per image",
    "c": "the sigmoid only squeezes the decoder's output into [0, 1], whatever k is; think about what the encoder "
         "could pass through a code as large as the image",
}


def check_bottleneck_question(answer):
    """answer: 'a', 'b' or 'c' (see BOTTLENECK_CHOICES)."""
    return multiple_choice(answer, BOTTLENECK_CHOICES, "b", "a code as large as the input lets the model copy; the bottleneck makes it choose", BOTTLENECK_HINTS)


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
