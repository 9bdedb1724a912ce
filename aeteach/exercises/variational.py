"""Checks for notebook 05 (variational autoencoders)."""
import math
import numbers

import torch

from .. import metrics
from . import number as _number, report, multiple_choice



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


def _kl_per_dim_cases():
    """Posteriors (N, 4) where a threshold on |mu| and the KL disagree, and their true mean KL per dimension."""
    g = torch.Generator().manual_seed(0)
    n = 50
    mu = torch.randn(n, 4, generator=g)
    logvar = torch.zeros(n, 4)
    mu[:, 0], logvar[:, 0] = 0.0, -3.0  # mu = 0 but a narrow posterior: 1.02 nats, information without any |mu|
    mu[:, 1] = 0.3 * torch.sign(torch.randn(n, generator=g))  # |mu| = 0.3 at sigma = 1: only 0.045 nats
    logvar[:, 2] = -1.0 + 0.5 * torch.randn(n, generator=g)  # a varied sigma as well as mu
    mu[:, 3], logvar[:, 3] = 0.02 * torch.randn(n, generator=g), 0.0  # the prior itself: about 0 nats
    truth = (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).mean(0)
    return mu, logvar, truth


def _check_kl_per_dim(fn):
    """None when fn(mu, logvar) gives the mean KL per dimension, else a hint."""
    if not callable(fn):
        return f"pass your function itself (e.g. my_kl_per_dim) first, not {type(fn).__name__}"
    mu, logvar, truth = _kl_per_dim_cases()
    try:
        out = fn(mu.clone(), logvar.clone())
    except Exception as err:
        return f"calling your function with mu, logvar of shape (50, 4) raised {type(err).__name__}: {err}"
    try:
        out = torch.as_tensor(out).double()
    except (TypeError, ValueError, RuntimeError):
        return f"return a tensor of shape (k,), one KL per latent dimension; got {type(out).__name__}"
    if out.shape != (4,):
        return (f"return one number per latent dimension, shape (4,) for posteriors of shape (50, 4); got {tuple(out.shape)}. "
                "Average over the examples (dim 0), do not sum over the dimensions")
    t = truth.double()
    if torch.allclose(out, t, rtol=1e-4, atol=1e-5):
        return None
    if torch.allclose(out, 50 * t, rtol=1e-4, atol=1e-4):
        return "you summed over the examples: average over them (dim 0) instead"
    if torch.allclose(out, 2 * t, rtol=1e-4, atol=1e-5):
        return "twice the right value: the closed form has a factor 1/2 in front"
    if torch.allclose(out, mu.abs().mean(0).double(), rtol=1e-3, atol=1e-4) or out[0].abs() < 0.5 * t[0]:
        return ("your function misses information that lies in sigma: in the first test dimension mu = 0 for every example "
                "but sigma = exp(-1.5), which costs about 1 nat. Use the KL, 0.5 * (mu^2 + exp(logvar) - 1 - logvar)")
    return ("not the mean KL per dimension yet: compute 0.5 * (mu^2 + exp(logvar) - 1 - logvar) for every example and "
            "dimension, then average over the examples (dim 0)")


def check_active_dims(fn, answer, model, x, threshold=0.1):
    """fn(mu, logvar) -> (k,) mean KL per dimension; answer: how many of model's dimensions exceed threshold nats on x.

    The function is tested on posteriors where a threshold on |mu| gives a different count, so only the KL passes.
    """
    hint = _check_kl_per_dim(fn)
    if hint is not None:
        return report(False, hint)
    if isinstance(answer, bool) or not isinstance(answer, numbers.Integral):
        if not (isinstance(answer, torch.Tensor) and answer.numel() == 1 and not answer.is_floating_point()):
            return report(False, f"give a whole number of dimensions, got {answer!r}")
    if not _is_vae(model):
        return report(False, "pass the trained VAE as model (it has a posterior() method)")
    if not (isinstance(x, torch.Tensor) and x.dim() == 4):
        return report(False, "pass the test images as x, a tensor (N, C, H, W)")
    per_dim = metrics.kl_per_dim(model, x)  # (k,) mean KL of each dimension
    truth = int((per_dim > threshold).sum())
    k = per_dim.numel()
    if int(answer) == truth:
        return report(True, "", f"your KL per dimension is right, and {truth} of {k} dimensions carry information; "
                                f"the other {k - truth} copy the prior")
    if int(answer) == k:
        return report(False, f"not every one of the {k} dimensions is used: apply your function to this model's posteriors "
                             f"on x and count the dimensions above {threshold} nats")
    return report(False, f"your function is right, but the count is not: apply it to model.posterior(x) and count the "
                         f"dimensions whose mean KL is above {threshold} nats")


# What removes the blur (section 8): a multiple choice.
BLUR_CHOICES = {
    "a": "at test time, decode the posterior mean instead of a sample",
    "b": "train without the KL term, but keep noise of a fixed sigma = 1 in the code",
    "c": "train with a larger beta",
}
BLUR_HINTS = {
    "a": "section 8 decodes both: compare the bars 'VAE recon (mean)' and 'VAE recon (sample)'. The decoder has learned "
         "to draw averages while training; what you feed it afterwards changes little",
    "c": "look at the reconstructions of section 4, one row per beta: what happens to the sharpness as beta grows?",
}


def check_blur_question(answer):
    """answer: 'a', 'b' or 'c' (see BLUR_CHOICES)."""
    return multiple_choice(answer, BLUR_CHOICES, "b", "noise alone costs no sharpness: without the KL term the encoder spreads its means far "
                           "beyond the noise. The KL term forbids that, and so the decoder must output averages", BLUR_HINTS)
