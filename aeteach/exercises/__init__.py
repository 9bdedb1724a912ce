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


def multiple_choice(answer, choices, right, success, hints):
    """A one-letter answer: a pass for `right`, the hint of a wrong letter, or how to answer."""
    choice = str(answer).strip().lower().strip("()")
    if choice not in choices:
        letters = [repr(c) for c in sorted(choices)]
        return report(False, f"answer with one letter, {', '.join(letters[:-1])} or {letters[-1]}, got {answer!r}")
    if choice == right:
        return report(True, "", success)
    return report(False, hints[choice])


def call(fn, *args):
    """(output, None) or (None, a hint) when fn is not callable or raises."""
    if not callable(fn):
        return None, f"pass your function itself (fn, not fn(...)), got {type(fn).__name__}"
    try:
        return fn(*args), None
    except Exception as err:  # the student's code: show what went wrong
        return None, f"your function raised {type(err).__name__}: {err}"


# ---- the student edition (aeteach.classroom): an answer cell not done yet gives "NOT YET: not done yet", not a traceback
NOT_DONE = ("not done yet — write your answer in the cell above (replace each ... and the raise NotImplementedError), "
            "run it, then run this check again")


def _todo(value):
    """True for the student edition's placeholder (...) or a list, tuple or dict holding one."""
    if isinstance(value, (list, tuple)):
        return any(v is Ellipsis or v is todo for v in value)
    if isinstance(value, dict):
        return any(v is Ellipsis or v is todo for v in value.values())
    return value is Ellipsis or value is todo


def not_done_yet(check):
    """check, answering NOT_DONE when given a placeholder (...) or when a function it calls raises NotImplementedError."""
    import functools

    if getattr(check, "_not_done_yet", False):
        return check

    @functools.wraps(check)
    def guarded(*args, **kwargs):
        if any(_todo(v) for v in (*args, *kwargs.values())):
            return report(False, NOT_DONE)
        try:
            return check(*args, **kwargs)
        except NotImplementedError:
            return report(False, NOT_DONE + " (a function you pass still raises NotImplementedError)")

    guarded._not_done_yet = True
    return guarded


def _guard_module(module):
    for name, value in list(vars(module).items()):
        if name.startswith("check_") and callable(value):
            setattr(module, name, not_done_yet(value))


def _install():
    """Wrap every check_* of each topic module once it is imported (the import system binds a finished submodule to
    its package with setattr), so the topic modules need no decorator."""
    import sys
    import types

    class _Package(types.ModuleType):
        def __setattr__(self, name, value):
            if isinstance(value, types.ModuleType) and value.__name__ == f"{self.__name__}.{name}":
                _guard_module(value)
            super().__setattr__(name, value)

    package = sys.modules[__name__]
    package.__class__ = _Package
    for value in list(vars(package).values()):  # topic modules imported before this ran (none, normally)
        if isinstance(value, types.ModuleType) and value.__name__.startswith(f"{__name__}."):
            _guard_module(value)


_install()


class _Todo:
    """The student edition's placeholder for an answer that a check cell uses in an expression (model.cpu()):
    attribute access, calls, indexing and arithmetic all give todo again, so the check sees todo and says not done yet."""

    def __repr__(self):
        return "todo"

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __getitem__(self, key):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __neg__ = __call__


todo = _Todo()
