"""Self-checks for the notebooks' exercises: each prints a clear pass, or a hint that helps without giving the answer.

One module per notebook, e.g. `from aeteach.exercises import undercomplete as ex; ex.check_pca_rank(answer)`.
Every check returns True or False, so CI can run them against the solutions.
"""


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
