"""Self-checks for the notebooks' exercises: each prints a clear pass, or a hint that helps without giving the answer.

One module per notebook, e.g. `from aeteach.exercises import undercomplete as ex; ex.check_pca_rank(answer)`.
Every check returns True or False, so CI can run them against the solutions.
"""
import math
import numbers


def number(value):
    """value as a float when it is one finite real number (Python, numpy, or a one-element tensor or array), else None."""
    if hasattr(value, "item") and not isinstance(value, numbers.Real):  # a tensor or an array
        if (value.numel() if hasattr(value, "numel") else value.size) != 1:
            return None
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        return None
    return float(value)


def report(ok, hint, success="well done"):
    """Print a pass or a hint; return ok."""
    print(f"PASS: {success}" if ok else f"NOT YET: {hint}")
    return bool(ok)


def close(value, target, rel=0.05):
    """True when value is a number within rel (relative) of target."""
    try:
        return abs(float(value) - float(target)) <= rel * abs(float(target))
    except (TypeError, ValueError):
        return False
