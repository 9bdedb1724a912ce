"""The argument checks every public function uses: one wording, one rule for numbers.

Numbers: Python and numpy numbers are accepted (np.int64(8) is a whole number), bools never are
(True is not an epoch count), NaN and inf never are. Each check returns the value as a plain Python
type, or raises ValueError naming the argument, what is allowed and what was given.
"""
import math
import numbers


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
