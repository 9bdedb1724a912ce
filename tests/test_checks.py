"""One rule for numbers everywhere: numpy numbers count, bools and NaN never do."""
import numpy as np
import pytest
import torch

from aeteach import checks


def test_whole_numbers_accept_numpy_integers_and_refuse_bools_and_floats():
    assert checks.whole("epochs", np.int64(8), lo=1) == 8 and type(checks.whole("k", np.int32(3))) is int
    for bad in (True, 2.5, 8.0, "8", None):
        with pytest.raises(ValueError, match=r"epochs must be a whole number >= 1, got"):
            checks.whole("epochs", bad, lo=1)
    with pytest.raises(ValueError, match=r"k must be a whole number >= 1 and <= 4, got 5"):
        checks.whole("k", 5, lo=1, hi=4)


def test_reals_are_finite_and_bounded_as_asked():
    assert checks.real("lr", np.float32(0.5), lo=0, lo_open=True) == 0.5
    for bad in (True, float("nan"), float("inf"), 0.0, -1, "1e-3"):
        with pytest.raises(ValueError, match=r"lr must be a finite number > 0, got"):
            checks.real("lr", bad, lo=0, lo_open=True)
    assert checks.real("lam", 0, lo=0) == 0.0


def test_choice_lists_the_options():
    with pytest.raises(ValueError, match="noise must be one of gaussian, masking, got 'pink'"):
        checks.choice("noise", "pink", ("gaussian", "masking"))


def test_images_become_float32_and_must_match_the_model():
    x = checks.images("data", np.random.default_rng(0).random((3, 1, 8, 8)), shape=(1, 8, 8))  # float64 numpy
    assert x.dtype == torch.float32 and x.shape == (3, 1, 8, 8)
    assert checks.images("data", torch.zeros(2, 3, 4, 4, dtype=torch.float64)).dtype == torch.float32
    with pytest.raises(ValueError, match=r"data holds images of shape \(C, H, W\) = \(3, 8, 8\), but the model takes \(1, 8, 8\)"):
        checks.images("data", torch.zeros(2, 3, 8, 8), shape=(1, 8, 8))
    with pytest.raises(ValueError, match=r"test holds images of shape \(C, H, W\) = \(1, 16, 16\), but the model takes \(1, 8, 8\)"):
        checks.images("test", torch.zeros(2, 1, 16, 16), shape=(1, 8, 8))
    for bad, message in [(torch.zeros(0, 1, 8, 8), r"data is empty: shape \(0, 1, 8, 8\)"),
                         (torch.zeros(8, 8), r"must be images \(N, C, H, W\), got shape \(8, 8\)"),
                         (torch.zeros(2, 1, 8, 8, dtype=torch.uint8), "floating-point pixels .* x / 255"),
                         ([[0.0]], r"data must be images \(N, C, H, W\) \(a tensor or numpy array\), got list")]:
        with pytest.raises(ValueError, match=message):
            checks.images("data", bad, shape=(1, 8, 8))
    nan = torch.zeros(2, 1, 8, 8)
    nan[1, 0, 3, 3] = float("nan")
    assert checks.images("data", nan).shape == nan.shape  # finite is opt-in: it reads every value
    with pytest.raises(ValueError, match="data holds 1 NaN or inf values"):
        checks.images("data", nan, finite=True)


def test_masks_are_whole_class_numbers_of_the_image_shape():
    y = checks.masks("data.y", np.zeros((2, 4, 4), dtype=np.int32), (2, 4, 4), n_classes=3)
    assert y.dtype == torch.int64
    with pytest.raises(ValueError, match=r"data.y must be masks of shape \(2, 4, 4\) .* got \(2, 8, 8\)"):
        checks.masks("data.y", torch.zeros(2, 8, 8, dtype=torch.long), (2, 4, 4), n_classes=3)
    with pytest.raises(ValueError, match="whole-number class labels, got torch.float32"):
        checks.masks("data.y", torch.zeros(2, 4, 4), (2, 4, 4), n_classes=3)
    with pytest.raises(ValueError, match=r"values must be class numbers in \[0, 2\], got \[3, 3\]"):
        checks.masks("data.y", torch.full((2, 4, 4), 3), (2, 4, 4), n_classes=3)
