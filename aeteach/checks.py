"""The argument checks every public function uses: one wording, one rule for numbers.

Numbers: Python and numpy numbers are accepted (np.int64(8) is a whole number), bools never are
(True is not an epoch count), NaN and inf never are. Each check returns the value as a plain Python
type, or raises ValueError naming the argument, what is allowed and what was given.
Images and masks: tensors or numpy arrays, returned as the tensor type the models compute in
(float32 images, int64 masks), so float64 data from torch.from_numpy never reaches a float32 model.
"""
import math
import numbers

import numpy as np
import torch


def _range_text(lo, hi, lo_open, hi_open):
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '<='} {hi}")
    return " and ".join(parts)


def _in_range(value, lo, hi, lo_open, hi_open):
    if lo is not None and (value <= lo if lo_open else value < lo):
        return False
    if hi is not None and (value >= hi if hi_open else value > hi):
        return False
    return True


def whole(name, value, lo=None, hi=None):
    """A whole number (int or numpy integer, not a bool) within [lo, hi]; returns an int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not _in_range(value, lo, hi, False, False):
        limits = _range_text(lo, hi, False, False)
        raise ValueError(f"{name} must be a whole number{' ' + limits if limits else ''}, got {value!r}")
    return int(value)


def real(name, value, lo=None, hi=None, lo_open=False, hi_open=False):
    """A finite real number (not a bool) within the given bounds; returns a float."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not _in_range(value, lo, hi, lo_open, hi_open):
        limits = _range_text(lo, hi, lo_open, hi_open)
        raise ValueError(f"{name} must be a finite number{' ' + limits if limits else ''}, got {value!r}")
    return float(value)


def choice(name, value, options):
    """One of `options`; the error lists them."""
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(str, options))}, got {value!r}")
    return value


def _shape_text(shape):
    return "(" + ", ".join(map(str, shape)) + ")"


def _tensor(name, x, what):
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be {what} (a tensor or numpy array), got {type(x).__name__}")
    return x


def images(name, x, shape=None, finite=False):
    """A batch of images (N, C, H, W) of floats, returned as a float32 tensor (on x's device).

    shape: the (C, H, W) a model takes; a mismatch names both shapes. Integer and bool images are
    refused rather than scaled (uint8 pixels are 0..255: divide by 255 first). finite=True also
    refuses NaN and inf; that reads every value, so do it once up front, not per batch.
    """
    x = _tensor(name, x, "images (N, C, H, W)")
    if x.dim() != 4:
        raise ValueError(f"{name} must be images (N, C, H, W), got shape {_shape_text(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must hold floating-point pixels (in [0, 1]), got {x.dtype}; for uint8 images use x / 255")
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"{name} holds images of shape (C, H, W) = {_shape_text(x.shape[1:])}, "
                         f"but the model takes {_shape_text(shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty: shape {_shape_text(x.shape)}")
    if finite and not torch.isfinite(x).all():
        raise ValueError(f"{name} holds {int((~torch.isfinite(x)).sum())} NaN or inf values; images must be finite")
    return x.float()


def masks(name, y, shape, n_classes):
    """Per-pixel class labels (N, H, W) of whole numbers in [0, n_classes), returned as an int64 tensor.

    shape: the (N, H, W) the images give (N images of H x W pixels); a mismatch names both.
    """
    y = _tensor(name, y, "class masks (N, H, W)")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ValueError(f"{name} must hold whole-number class labels, got {y.dtype}")
    if tuple(y.shape) != tuple(shape):
        raise ValueError(f"{name} must be masks of shape {_shape_text(shape)} (one class per pixel of each image), "
                         f"got {_shape_text(y.shape)}")
    if y.numel() and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name} values must be class numbers in [0, {n_classes - 1}], got [{int(y.min())}, {int(y.max())}]")
    return y.long()
