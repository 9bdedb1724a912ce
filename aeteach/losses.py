"""Named loss terms, and the table that makes each autoencoder kind a bottleneck plus terms.

Every term returns a scalar float32 tensor. A model's `loss_terms` returns a dict of them plus
`total`, their weighted sum, so a plot or a widget can show each term without extra code.

A kind is data, not a subclass: one `Kind` entry in VARIANTS says what its code does, which terms
its objective adds up (and which hyperparameter weights each), how the input is corrupted while
training, which hyperparameters it takes with their defaults, and where the idea comes from.
Adding a kind made of existing terms is one entry (see `overcomplete`).
"""
import functools
import math
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from . import checks
from .data import NOISE_RANGES
from .metrics import gaussian_kl

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


# ----------------------------------------------------------------------------- the terms

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
    Otherwise the exact Jacobian comes from double backward: each example is encoded k times and copy j
    keeps only unit j, so one differentiable backward pass gives every row (an example's code does not depend
    on the rest of its batch: no aeteach encoder normalises over it). Not torch.func.jacrev, whose first call
    imports torch._dynamo and sympy, about a second inside a student's first fit.
    """
    if sigmoid_layer is not None:
        h = torch.sigmoid(sigmoid_layer(x.flatten(1)))  # (B, k)
        w2 = sigmoid_layer.weight.pow(2).sum(1)  # (k,), the weight itself so gradients reach W
        return ((h * (1 - h)).pow(2) * w2).sum(1).mean()
    training = torch.is_grad_enabled()  # under no_grad (evaluation) the value is wanted, not its graph
    with torch.no_grad():
        k = encode(x[:1]).shape[1]  # code size
    with torch.enable_grad():
        xr = x.detach().repeat_interleave(k, 0).requires_grad_(True)  # (B * k, C, H, W): copy j of example i
        h = encode(xr).reshape(len(x), k, k)  # [i, j, :]: the code of copy j of example i
        rows, = torch.autograd.grad(h.diagonal(dim1=1, dim2=2).sum(), xr, create_graph=training)  # d h_j / d x
    return rows.reshape(len(x), -1).pow(2).sum(1).mean()


# Each term reads what one forward pass computed (a models.Pass: the corrupted input x_in, the code h,
# the encoder's output a, the prediction, the target), so a kind only names its terms.
TERMS = {
    "recon": lambda p: recon(p.prediction, p.target, p.loss, per_example=p.config.variational),
    "l1": lambda p: l1(p.h),
    "kl_sparsity": lambda p: kl_sparsity(p.h, p.config.rho),
    "contractive": lambda p: contractive(p.model.encode, p.x_in, sigmoid_layer=p.model.sigmoid_layer),
    "kl": lambda p: kl(*p.a.chunk(2, dim=1)),  # the encoder's output holds the mean and the log-variance
}


# ----------------------------------------------------------------------------- hyperparameters

def _at(bound, cfg):
    """A bound given as a number, or as fn(cfg) of the settings made before it."""
    return bound(cfg) if callable(bound) else bound


@dataclass(frozen=True)
class Real:
    """A finite number in a range (bounds may be fn(cfg))."""
    lo: object = None
    hi: object = None
    lo_open: bool = False
    hi_open: bool = False

    def check(self, name, value, cfg):
        return checks.real(name, value, _at(self.lo, cfg), _at(self.hi, cfg), self.lo_open, self.hi_open)


@dataclass(frozen=True)
class Whole:
    """A whole number in a range (bounds may be fn(cfg)); `why` explains a bound that is not obvious."""
    lo: object = None
    hi: object = None
    why: str = ""

    def check(self, name, value, cfg):
        try:
            return checks.whole(name, value, _at(self.lo, cfg), _at(self.hi, cfg))
        except ValueError as err:
            raise ValueError(f"{err} ({_at(self.why, cfg)})" if self.why else str(err)) from None


@dataclass(frozen=True)
class Choice:
    options: tuple
    why: str = ""

    def check(self, name, value, cfg):
        try:
            return checks.choice(name, value, self.options)
        except ValueError as err:
            raise ValueError(f"{err} ({self.why})" if self.why else str(err)) from None


@dataclass(frozen=True)
class Flag:
    def check(self, name, value, cfg):
        if not isinstance(value, (bool, np.bool_)):  # 1 is a number, not a switch
            raise ValueError(f"{name} must be True or False, got {value!r}")
        return bool(value)


@dataclass(frozen=True)
class Widths:
    """Layer widths: whole numbers >= 1, `length` of them if given."""
    length: int = None

    def check(self, name, value, cfg):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise ValueError(f"{name} must be a tuple of whole numbers >= 1, got {value!r}")
        value = tuple(value)
        if self.length is not None and len(value) != self.length:
            raise ValueError(f"{name} must be {self.length} whole numbers >= 1, got {value!r}")
        return tuple(checks.whole(f"each of {name}", n, 1) for n in value)


# The range of every hyperparameter, the same in every kind that takes it (a kind may narrow one).
RANGES = {
    "bottleneck": Whole(1),
    "hidden": Widths(),              # MLP hidden widths, encoder side; the decoder mirrors them
    "channels": Widths(2),           # conv / U-Net channels at the two resolutions
    "loss": Choice(RECON_LOSSES),    # the reconstruction loss
    "lam": Real(0),                  # weight of l1 or contractive; 0 switches the penalty off
    "rho": Real(0, 1, lo_open=True, hi_open=True),  # target mean activation
    "beta": Real(0),                 # weight of kl_sparsity or kl
    "k": Whole(1, lambda c: c.bottleneck, why="top-k keeps k of the bottleneck's units"),
    "noise": Choice(tuple(NOISE_RANGES)),
    "noise_level": Real(lambda c: NOISE_RANGES[c.noise][0], lambda c: NOISE_RANGES[c.noise][1]),
    "block": Whole(1, lambda c: min(c.input_shape[1:]), why="the occluded square must fit in the image"),
    "n_classes": Whole(2),
    "skip": Flag(),                  # U-Net skip connections
}

# the conv net's default channels: (16, 32) trains an epoch 2.4x faster on one CPU thread than (32, 64) (the
# convolutions cost c1 * c2) for about 2% more converged test MSE on 28x28 digits (bench/train_speed.py);
# the U-Net keeps (32, 64): its shipped checkpoints were trained with it
CONV_CHANNELS = (16, 32)
# the network's hyperparameters and their defaults, for every kind that builds an MLP, conv net or U-Net
NET = {"hidden": (256,), "channels": lambda c: CONV_CHANNELS if c.arch == "conv" else (32, 64), "loss": "mse"}
ALL_ARCHS = ("mlp", "conv", "unet")
VECTOR_ARCHS = ("mlp", "conv")  # a vector code (B, k); the U-Net's code is a map (B, k, H/4, W/4)


@dataclass(frozen=True)
class Kind:
    """One autoencoder kind, as data.

    code: what the bottleneck does to the encoder's output (models.CODES): identity, relu, sigmoid,
      topk, gaussian (mean and log-variance, sampled while training).
    terms: loss term (TERMS) -> the hyperparameter that weights it, or None for weight 1.
    hyper: hyperparameter -> default (a value, or fn(cfg) of the settings before it); the ranges are RANGES'.
    ranges: where this kind narrows a range (or the bottleneck's).
    corrupt: how training corrupts the input (models.CORRUPTIONS): 'noise', 'block' or None.
    archs: the architectures it takes, its default first.
    output: 'image' (a sigmoid, pixels in [0, 1]), 'linear' (no sigmoid: the PCA case) or 'classes' (logits).
    """
    code: str
    terms: dict
    hyper: dict = field(default_factory=dict)
    ranges: dict = field(default_factory=dict)
    corrupt: str = None
    archs: tuple = VECTOR_ARCHS
    output: str = "image"
    ref: str = ""

    def range(self, name):
        return self.ranges.get(name, RANGES[name])


VARIANTS = {
    "linear": Kind("identity", {"recon": None}, archs=("linear",), output="linear",
                   ref="Baldi & Hornik 1989, Neural networks and principal component analysis"),
    "undercomplete": Kind("identity", {"recon": None}, NET, archs=ALL_ARCHS,
                          ref="Hinton & Salakhutdinov 2006, Reducing the dimensionality of data with neural networks"),
    "sparse_l1": Kind("relu", {"recon": None, "l1": "lam"}, {**NET, "lam": 1e-4},
                      ref="Goodfellow, Bengio & Courville 2016, Deep Learning, section 14.2.1"),
    "sparse_kl": Kind("sigmoid", {"recon": None, "kl_sparsity": "beta"}, {**NET, "rho": 0.05, "beta": 0.01},
                      ref="Ng 2011, Sparse autoencoder (CS294A lecture notes)"),
    "topk": Kind("topk", {"recon": None}, {**NET, "k": lambda c: max(1, min(8, c.bottleneck // 4))},
                 ref="Makhzani & Frey 2014, k-Sparse autoencoders"),
    # one sigmoid layer by default, where the penalty has Rifai et al.'s closed form
    "contractive": Kind("sigmoid", {"recon": None, "contractive": "lam"}, {**NET, "hidden": (), "lam": 0.01},
                        ref="Rifai et al. 2011, Contractive auto-encoders: explicit invariance during feature extraction"),
    "denoising": Kind("identity", {"recon": None}, {**NET, "noise": "gaussian", "noise_level": 0.3}, corrupt="noise",
                      archs=ALL_ARCHS, ref="Vincent et al. 2008, Extracting and composing robust features with denoising autoencoders"),
    "vae": Kind("gaussian", {"recon": None, "kl": "beta"}, {**NET, "loss": "bce", "beta": 1.0},
                ranges={"loss": Choice(("bce",), why="the ELBO here uses a Bernoulli decoder")},
                ref="Kingma & Welling 2014, Auto-encoding variational Bayes; beta: Higgins et al. 2017"),
    "segmentation": Kind("identity", {"recon": None}, {"channels": (16, 32), "n_classes": 4, "skip": True},
                         archs=("unet",), output="classes",
                         ref="Ronneberger, Fischer & Brox 2015, U-Net: convolutional networks for biomedical image segmentation"),
    "inpainting": Kind("identity", {"recon": None},
                       {**NET, "block": lambda c: max(1, round(0.375 * min(c.input_shape[1:]))), "skip": True},
                       corrupt="block", archs=ALL_ARCHS, ref="Pathak et al. 2016, Context encoders: feature learning by inpainting"),
    # a code wider than the input, one layer each way: nothing stops it from learning to copy (denoising does)
    "overcomplete": Kind("identity", {"recon": None}, {**NET, "hidden": ()},
                         ranges={"bottleneck": Whole(lambda c: math.prod(c.input_shape) + 1,
                                                     why="an overcomplete code is wider than the input's C*H*W values")},
                         ref="Goodfellow, Bengio & Courville 2016, Deep Learning, section 14.1 (overcomplete codes can copy)"),
}
KINDS = tuple(VARIANTS)
