"""Named loss terms, and the registry that makes each autoencoder kind a bottleneck plus terms.

Every term returns a scalar tensor. A model's `loss_terms` returns a dict of them plus
`total`, their weighted sum, so a plot or a widget can show each term without extra code.
"""
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


def recon(x_hat, target, loss="mse", per_example=False):
    """Reconstruction error: mean over elements, or (per_example) summed per example and averaged over the batch."""
    if loss == "ce":  # segmentation: x_hat holds class logits (B, n_classes, H, W), target (B, H, W)
        err = F.cross_entropy(x_hat, target, reduction="none")
    elif loss == "mse":
        err = (x_hat - target).pow(2)
    elif loss == "mae":
        err = (x_hat - target).abs()
    elif loss == "bce":
        # x_hat are probabilities; clamping keeps log finite where the sigmoid saturates
        err = F.binary_cross_entropy(x_hat.clamp(1e-6, 1 - 1e-6), target, reduction="none")
    else:
        raise ValueError(f"unknown reconstruction loss {loss!r}; valid: mse, mae, bce, ce")
    # the VAE sums over pixels so that recon + kl is a real (negative) ELBO in nats
    return err.flatten(1).sum(1).mean() if per_example else err.mean()


def l1(h):
    """L1 activity penalty sum_i |h_i|, averaged over the batch."""
    return h.abs().flatten(1).sum(1).mean()


def kl_sparsity(h, rho):
    """sum_j KL(rho || rho_hat_j) where rho_hat_j is unit j's mean activation over the batch."""
    rho_hat = h.mean(0).clamp(1e-6, 1 - 1e-6)  # (k,)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def kl(mu, logvar):
    """KL(q(z|x) || N(0, I)) in nats per example, averaged over the batch."""
    return gaussian_kl(mu, logvar).mean()


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
