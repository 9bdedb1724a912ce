"""Checks for notebook 05 (variational autoencoders)."""
import math
import numbers

import torch

from .. import metrics
from . import number as _number, report



def _is_vae(model):
    # every aeteach Autoencoder has posterior(), but only a Gaussian code can answer it
    variational = getattr(getattr(model, "config", None), "variational", True)
    return isinstance(model, torch.nn.Module) and callable(getattr(model, "posterior", None)) and variational


def check_kl(fn):
    """fn(mu, logvar) must return KL(N(mu, exp(logvar)) || N(0, I)) per example, shape (B,)."""
    if not callable(fn):
        return report(False, f"pass your function itself (e.g. my_kl), not {type(fn).__name__}")
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    try:
        out = fn(mu, logvar)
    except Exception as err:
        return report(False, f"calling fn(mu, logvar) with mu, logvar of shape (5, 3) raised {type(err).__name__}: {err}")
    if not isinstance(out, torch.Tensor) or out.shape != (5,):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return report(False, f"return one KL per example, a tensor of shape (5,) for 5 examples; got {shape}. "
                             "Sum over the latent dimensions, not over the batch")
    std = (0.5 * logvar).exp()
    truth = torch.distributions.kl_divergence(torch.distributions.Normal(mu, std), torch.distributions.Normal(0.0, 1.0)).sum(1)
    if torch.allclose(out.double(), truth.double(), rtol=1e-4, atol=1e-5):
        two = fn(torch.tensor([[2.0]]), torch.tensor([[0.0]]))
        return report(True, "", f"matches torch.distributions; KL(N(2, 1) || N(0, 1)) = {float(two):.2f} nats")
    if torch.allclose(out.double(), 2 * truth.double(), rtol=1e-4, atol=1e-5):
        return report(False, "twice the right value: the closed form has a factor 1/2 in front")
    return report(False, "not the KL yet; per dimension it is 0.5 * (mu^2 + sigma^2 - 1 - log sigma^2), with "
                         "sigma^2 = exp(logvar); test your function on mu = 2, logvar = 0, where the answer is 2")


def check_bits_per_dim(answer, model, x):
    """answer: the negative test ELBO of `model` on x in bits per dimension (pixel)."""
    value = _number(answer)
    if value is None:
        return report(False, f"give one number (bits per dimension), got {type(answer).__name__}")
    if not _is_vae(model):
        return report(False, "pass the trained VAE as model (it has a posterior() method)")
    if not (isinstance(x, torch.Tensor) and x.dim() == 4):
        return report(False, "pass the test images as x, a tensor (N, C, H, W)")
    elbo = metrics.elbo(model, x)
    n_dims = math.prod(x.shape[1:])
    truth = -elbo / (n_dims * math.log(2))
    if abs(value - truth) <= 0.02 * abs(truth):
        return report(True, "", f"{-elbo:.1f} nats per image is {truth:.3f} bits for each of the {n_dims} pixels")
    if abs(value - truth * math.log(2)) <= 0.02 * abs(truth * math.log(2)):
        return report(False, "that is nats per dimension; a bit is ln 2 nats, so divide by ln 2 once more")
    if abs(value + truth) <= 0.02 * abs(truth):
        return report(False, "the sign is flipped: bits per dimension measure a cost, so use the NEGATIVE ELBO")
    return report(False, "start from metrics.elbo(model, x) (nats per image), divide by the number of pixels per image "
                         "(C * H * W) and convert nats to bits")


def check_active_dims(answer, model, x, threshold=0.1):
    """answer: how many latent dimensions have a mean KL over x above threshold nats."""
    if isinstance(answer, bool) or not isinstance(answer, numbers.Integral):
        if not (isinstance(answer, torch.Tensor) and answer.numel() == 1 and not answer.is_floating_point()):
            return report(False, f"give a whole number of dimensions, got {answer!r}")
    if not _is_vae(model):
        return report(False, "pass the trained VAE as model (it has a posterior() method)")
    if not (isinstance(x, torch.Tensor) and x.dim() == 4):
        return report(False, "pass the test images as x, a tensor (N, C, H, W)")
    with torch.no_grad():
        model.eval()
        mu, logvar = model.posterior(x.to(next(model.parameters()).device))  # (N, k)
    per_dim = (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).mean(0)  # (k,) mean KL of each dimension
    truth = int((per_dim > threshold).sum())
    k = per_dim.numel()
    if int(answer) == truth:
        return report(True, "", f"{truth} of {k} dimensions carry information; the other {k - truth} copy the prior "
                                "(posterior collapse)")
    if int(answer) == k:
        return report(False, f"not every one of the {k} dimensions is used: compute the KL per dimension "
                             "(do not sum over dimensions), average it over the examples, then count")
    return report(False, f"compute the KL of each dimension, 0.5 * (mu^2 + exp(logvar) - 1 - logvar), average it over "
                         f"the examples (dim 0), and count the dimensions above {threshold} nats")
