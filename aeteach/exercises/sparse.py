"""Checks for 02_sparse: the active fraction and the KL sparsity term as functions, a top-k function, and a
multiple choice on what the KL penalty measures.

Each check calls the student's function on inputs it draws itself, so a number copied from a printout, or a
function that ignores its arguments, cannot pass.
"""
import torch

from . import report, multiple_choice, call as _call
from ..losses import kl_sparsity


def _scalar(value):
    """value as a float when it is one number (Python, numpy or a one-element tensor), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, torch.Tensor):
        return float(value) if value.numel() == 1 else None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _signed_codes(gen, n, k):
    """(n, k) codes with exact zeros, small entries on both sides of the threshold and negative entries."""
    c = torch.randn(n, k, generator=gen) * (torch.rand(n, k, generator=gen) < 0.4)  # about 60% exact zeros
    return c * 10 ** torch.empty(n, k).uniform_(-4, 0, generator=gen)  # magnitudes from 1e-4 to 1


def check_active_fraction(fn):
    """fn(codes, threshold): the fraction of entries of codes (N, k) with |h| > threshold."""
    gen = torch.Generator().manual_seed(0)
    for (n, k), threshold in (((40, 32), 1e-3), ((25, 10), 0.05), ((60, 128), 1e-2)):
        c = _signed_codes(gen, n, k)
        out, problem = _call(fn, c.clone(), threshold)
        if problem:
            return report(False, problem)
        value = _scalar(out)
        if value is None:
            return report(False, f"return one number between 0 and 1, got {type(out).__name__}")
        active = c.abs() > threshold
        truth = active.float().mean().item()
        if abs(value - truth) <= 1e-6:
            continue
        if abs(value - active.sum(1).float().mean().item()) <= 1e-4:
            return report(False, "that is the number of active units per example; divide by the code size to get a fraction")
        if abs(value - (1 - truth)) <= 1e-6:
            return report(False, "that is the fraction of inactive entries; count those with |h| > threshold instead")
        if abs(value - (c > threshold).float().mean().item()) <= 1e-6:
            return report(False, "negative entries are active too: compare |h| (use .abs()) with the threshold")
        return report(False, "count the entries with |h| > threshold, then divide by the total number of entries "
                             "(use the threshold you are given, not a fixed 1e-3)")
    return report(True, "", "that is the mean L0 of a code divided by its size")


def check_kl_penalty(fn):
    """fn(codes, rho): sum over units j of KL(rho || rho_hat_j), rho_hat_j the mean of unit j over the codes (N, k)."""
    gen = torch.Generator().manual_seed(1)
    for (n, k), rho in (((40, 16), 0.05), ((30, 7), 0.2), ((50, 32), 0.01)):
        c = torch.sigmoid(torch.randn(n, k, generator=gen) * 2 - 2)  # (n, k) in (0, 1)
        out, problem = _call(fn, c.clone(), rho)
        if problem:
            return report(False, problem)
        value = _scalar(out)
        if value is None:
            return report(False, f"return one number (the sum over units), got {type(out).__name__}")
        truth = float(kl_sparsity(c, rho))
        if abs(value - truth) <= 1e-4 * max(1.0, abs(truth)):
            continue
        if abs(value - truth / k) <= 1e-4 * max(1.0, abs(truth)):
            return report(False, "you averaged over units; the penalty sums KL over the units")
        r = c.mean()  # one mean over all entries instead of one per unit
        pooled = k * float(rho * torch.log(rho / r) + (1 - rho) * torch.log((1 - rho) / (1 - r)))
        if abs(value - pooled) <= 1e-4 * max(1.0, abs(pooled)):
            return report(False, "take one mean per unit (codes.mean(0), shape (k,)), not one mean over all entries")
        return report(False, "first average each unit over the examples (codes.mean(0), shape (k,)), then apply "
                             "rho*log(rho/rho_hat) + (1-rho)*log((1-rho)/(1-rho_hat)) per unit and sum")
    return report(True, "", "you computed the KL sparsity term the sparse_kl model trains with")


def check_topk(fn):
    """fn(a, k): keep the k largest entries of each row of a (B, n) with their values, zero the rest."""
    if not callable(fn):
        return report(False, f"pass your function itself (fn, not fn(...)), got {type(fn).__name__}")
    gen = torch.Generator().manual_seed(0)
    for shape, k in (((5, 12), 3), ((3, 7), 1), ((4, 6), 6)):
        a = torch.randn(shape, generator=gen)
        top = a.topk(k, dim=1)
        truth = torch.zeros_like(a).scatter(1, top.indices, top.values)
        out, problem = _call(fn, a.clone(), k)
        if problem:
            return report(False, problem)
        if not isinstance(out, torch.Tensor) or out.shape != a.shape:
            return report(False, f"return a tensor of the input's shape {tuple(a.shape)}, got "
                                 f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
        if torch.allclose(out, truth):
            continue
        if torch.allclose(out, truth.clamp(min=0)):
            return report(False, "that is the variant of Gao et al. 2024, a ReLU on the kept values; this notebook's "
                                 "topk, like Makhzani and Frey's k-sparse autoencoder, keeps the k largest values as "
                                 "they are, even negative ones: write that one")
        if ((out != 0).sum(1) == k).all():
            return report(False, "the right number of entries survive, but not the largest ones, or not with their "
                                 "original values: pick them per row (dim=1) and keep their values")
        return report(False, "per row, find the k largest entries (Tensor.topk along dim 1), and build a zero tensor "
                             "with just those values put back (Tensor.scatter)")
    return report(True, "", "that is the top-k bottleneck; every code has exactly k nonzero units")


# What the KL sparsity penalty measures: a multiple choice (section 3 of the notebook).
KL_CHOICES = {
    "a": "the beta = 0.1 code keeps the most information: the KL penalty measures how much information is lost",
    "b": "nothing about information: the penalty only compares each unit's mean activation with rho, and a code can "
         "meet it exactly while carrying no information about the image at all",
    "c": "the beta = 0.1 code keeps the least information: a smaller KL penalty always means more information lost",
}
KL_HINTS = {
    "a": "compare the KL penalty with the test MSE of each beta in section 3, and look at the constant code there",
    "c": "the constant code has a penalty of 0 and keeps nothing, but a code whose every unit has mean rho can also "
         "reconstruct well: the penalty depends only on the k unit means, not on what the code says about x",
}


def check_kl_question(answer):
    """answer: 'a', 'b' or 'c' (see KL_CHOICES)."""
    return multiple_choice(answer, KL_CHOICES, "b", "KL(rho || rho_hat_j) is a distance between two Bernoulli distributions, unit j's "
                           "average firing rate and the target; the reconstruction term measures what is lost", KL_HINTS)
