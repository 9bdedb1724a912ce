"""Checks for 02_sparse: active fraction by hand, the KL sparsity penalty by hand, and a top-k function."""
import torch

from . import close, number as _number, report
from ..losses import kl_sparsity
from ..metrics import active_fraction


def _codes(codes):
    """codes as a 2-D float tensor, or None."""
    if not isinstance(codes, torch.Tensor) or codes.dim() != 2 or not codes.is_floating_point():
        return None
    return codes.detach()



def check_active_fraction(codes, answer, threshold=1e-3):
    """answer: the fraction of entries of codes (N, k) with |h| > threshold."""
    c = _codes(codes)
    if c is None:
        return report(False, "pass the codes as a float tensor (N, k), e.g. metrics.encode_all(model, test.x)")
    value = _number(answer)
    if value is None:
        return report(False, f"answer should be one number between 0 and 1, got {type(answer).__name__}")
    truth = active_fraction(c, threshold)
    if abs(value - truth) <= 1e-3:
        return report(True, "", "that is the mean L0 of a code divided by its size")
    if close(value, truth * c.shape[1], rel=0.01):
        return report(False, "that is the number of active units per example; divide by the code size to get a fraction")
    if close(value, 1 - truth, rel=0.01):
        return report(False, "that is the fraction of inactive entries; count those with |h| > threshold instead")
    return report(False, f"count the entries with |h| > {threshold} (use .abs()), then divide by the total number of entries")


def check_kl_penalty(codes, rho, answer):
    """answer: sum over units j of KL(rho || rho_hat_j), rho_hat_j the mean of unit j over the examples in codes."""
    c = _codes(codes)
    if c is None:
        return report(False, "pass the sigmoid codes as a float tensor (N, k), e.g. metrics.encode_all(kl_model, test.x)")
    if not 0 < float(rho) < 1:
        return report(False, f"rho is a target mean activation in (0, 1), got {rho}")
    value = _number(answer)
    if value is None:
        return report(False, f"answer should be one number, got {type(answer).__name__}")
    truth = float(kl_sparsity(c, float(rho)))
    if close(value, truth, rel=0.01):
        return report(True, "", "you computed the KL sparsity term the sparse_kl model trains with")
    if close(value, truth / c.shape[1], rel=0.01):
        return report(False, "you averaged over units; the penalty sums KL over the units")
    return report(False, "first average each unit over the examples (codes.mean(0), shape (k,)), then apply "
                         "rho*log(rho/rho_hat) + (1-rho)*log((1-rho)/(1-rho_hat)) per unit and sum")


def check_topk(fn):
    """fn(a, k): keep the k largest entries of each row of a (B, n), zero the rest."""
    if not callable(fn):
        return report(False, f"pass your function itself (fn, not fn(...)), got {type(fn).__name__}")
    gen = torch.Generator().manual_seed(0)
    for shape, k in (((5, 12), 3), ((3, 7), 1), ((4, 6), 6)):
        a = torch.randn(shape, generator=gen)
        top = a.topk(k, dim=1)
        truth = torch.zeros_like(a).scatter(1, top.indices, top.values)
        try:
            out = fn(a.clone(), k)
        except Exception as err:  # the student's code: show what went wrong
            return report(False, f"your function raised {type(err).__name__}: {err}")
        if not isinstance(out, torch.Tensor) or out.shape != a.shape:
            return report(False, f"return a tensor of the input's shape {tuple(a.shape)}, got "
                                 f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
        if torch.allclose(out, truth):
            continue
        if torch.allclose(out, truth.clamp(min=0)):
            return report(False, "you also zeroed negative winners: top-k keeps the k largest values as they are, "
                                 "even when some are negative")
        if ((out != 0).sum(1) == k).all():
            return report(False, "the right number of entries survive, but not the largest ones, or not with their "
                                 "original values: pick them per row (dim=1) and keep their values")
        return report(False, "per row, find the k largest entries (Tensor.topk along dim 1), and build a zero tensor "
                             "with just those values put back (Tensor.scatter)")
    return report(True, "", "that is the top-k bottleneck; every code has exactly k nonzero units")
