"""One rule for numbers everywhere: numpy numbers count, bools and NaN never do."""
import numpy as np
import pytest

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
