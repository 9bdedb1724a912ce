"""Named loss terms, and the registry that makes each autoencoder kind a bottleneck plus terms.

Every term returns a scalar float32 tensor. A model's `loss_terms` returns a dict of them plus
`total`, their weighted sum, so a plot or a widget can show each term without extra code.
"""
import functools
from contextlib import nullcontext

import torch
import torch.nn.functional as F

from .metrics import gaussian_kl

# A kind is data, not a subclass: which bottleneck, which terms (and which hyperparameter
# weights each term), whether the input is corrupted, and the default architecture.
VARIANTS = {
    "linear":        dict(bottleneck="identity", terms={"recon": None}, arch="linear"),
    "undercomplete": dict(bottleneck="identity", terms={"recon": None}),
    "sparse_l1":     dict(bottleneck="relu", terms={"recon": None, "l1": "lam"}),
    "sparse_kl":     dict(bottleneck="sigmoid", terms={"recon": None, "kl_sparsity": "beta"}),
    "topk":          dict(bottleneck="topk", terms={"recon": None}),
    "contractive":   dict(bottleneck="sigmoid", terms={"recon": None, "contractive": "lam"}),
    "denoising":     dict(bottleneck="identity", terms={"recon": None}, corrupt="noise"),
    "vae":           dict(bottleneck="gaussian", terms={"recon": None, "kl": "beta"}),
    "segmentation":  dict(bottleneck="identity", terms={"recon": None}, arch="unet"),
    "inpainting":    dict(bottleneck="identity", terms={"recon": None}, corrupt="block"),
}
KINDS = tuple(VARIANTS)
RECON_LOSSES = ("mse", "mae", "bce")
LOGIT_LOSSES = ("bce", "ce")  # reconstruction losses that take the decoder's logits, not its output


def fp32(term):
    """Run a loss term in float32 with autocast off, whatever precision the model ran in.

    Under bf16 autocast the network's outputs are bf16 (8 bits of mantissa): sums and means over
    thousands of pixels would lose digits, and CUDA's autocast refuses some losses outright.
    On float32 inputs without autocast this changes nothing: .float() returns the same tensor.
    """
    @functools.wraps(term)
    def wrapped(*args, **kwargs):
        args = [a.float() if torch.is_tensor(a) and a.is_floating_point() else a for a in args]
        device = next((a.device.type for a in args if torch.is_tensor(a)), "cpu")
        # aeteach autocasts on CUDA and the CPU only; older torch refuses torch.autocast on other devices
        off = torch.autocast(device, enabled=False) if device in ("cuda", "cpu") else nullcontext()
        with off:
            return term(*args, **kwargs)
    return wrapped


@fp32
def recon(x_hat, target, loss="mse", per_example=False):
    """Reconstruction error: mean over elements, or (per_example) summed per example and averaged over the batch.

    For loss 'bce' and 'ce' x_hat holds logits (the decoder's output before its sigmoid or softmax).
    """
    if loss == "ce":  # segmentation: x_hat holds class logits (B, n_classes, H, W), target (B, H, W)
        err = F.cross_entropy(x_hat, target, reduction="none")
    elif loss == "mse":
        err = (x_hat - target).pow(2)
    elif loss == "mae":
        err = (x_hat - target).abs()
    elif loss == "bce":
        # from logits: finite where the sigmoid saturates, exact in float32, and allowed under CUDA autocast
        # (F.binary_cross_entropy on probabilities is not); equals the Bernoulli negative log-likelihood
        err = F.binary_cross_entropy_with_logits(x_hat, target, reduction="none")
    else:
        raise ValueError(f"unknown reconstruction loss {loss!r}; valid: mse, mae, bce, ce")
    # the VAE sums over pixels so that recon + kl is a real (negative) ELBO in nats
    return err.flatten(1).sum(1).mean() if per_example else err.mean()


@fp32
def l1(h):
    """L1 activity penalty sum_i |h_i|, averaged over the batch."""
    return h.abs().flatten(1).sum(1).mean()


@fp32
def kl_sparsity(h, rho):
    """sum_j KL(rho || rho_hat_j) where rho_hat_j is unit j's mean activation over the batch."""
    rho_hat = h.mean(0).clamp(1e-6, 1 - 1e-6)  # (k,)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


@fp32
def kl(mu, logvar):
    """KL(q(z|x) || N(0, I)) in nats per example, averaged over the batch."""
    return gaussian_kl(mu, logvar).mean()


@fp32
def contractive(encode, x, sigmoid_layer=None):
    """Squared Frobenius norm of the encoder Jacobian ||dh/dx||_F^2, averaged over the batch.

    The closed form sum_j (h_j (1 - h_j))^2 sum_i W_ji^2 holds only when the encoder is ONE
    sigmoid layer h = sigmoid(W x + b): pass that nn.Linear as `sigmoid_layer` to use it.
    Otherwise the exact Jacobian comes from torch.func, which stays differentiable.
    """
    if sigmoid_layer is not None:
        h = torch.sigmoid(sigmoid_layer(x.flatten(1)))  # (B, k)
        w2 = sigmoid_layer.weight.pow(2).sum(1)  # (k,), the weight itself so gradients reach W
        return ((h * (1 - h)).pow(2) * w2).sum(1).mean()
    jac = torch.func.vmap(torch.func.jacrev(lambda xi: encode(xi.unsqueeze(0)).squeeze(0)))(x)  # (B, k, C, H, W)
    return jac.pow(2).flatten(1).sum(1).mean()
