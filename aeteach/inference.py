"""What the explorers show, computed without any widget: images as numpy arrays, plus the numbers beside them.

Every function takes a trained model and tensors, runs in eval mode without gradients, and returns
numpy arrays (N, H, W) for display or plain floats, so widgets only have to place them on screen.
"""
import numpy as np
import torch

from . import metrics
from .data import NOISE_RANGES, block_occlusion, corrupt


def _device(model):
    return next(model.parameters()).device


def images(x):
    """(N, C, H, W) tensor -> (N, H, W) or (N, H, W, 3) float array for imshow."""
    x = x.detach().float().cpu().clamp(0, 1)
    return x[:, 0].numpy() if x.shape[1] == 1 else x.permute(0, 2, 3, 1).numpy()


@torch.no_grad()
def reconstruct(model, x):
    """Originals and reconstructions, as display arrays, and the MSE over x."""
    model.eval()
    out = model(x.to(_device(model))).cpu()
    return images(x), images(out), float(((out - x) ** 2).mean())


@torch.no_grad()
def denoise(model, x, noise="gaussian", level=0.3, seed=0):
    """Corrupt x with `noise` at `level`, run the denoiser: clean, noisy and denoised images with PSNRs in dB."""
    if noise not in NOISE_RANGES:
        raise ValueError(f"noise must be one of {', '.join(NOISE_RANGES)}, got {noise!r}")
    model.eval()
    noisy = corrupt(x, noise, level, generator=torch.Generator().manual_seed(seed))
    out = model(noisy.to(_device(model))).cpu()
    return dict(clean=images(x), noisy=images(noisy), denoised=images(out),
                psnr_noisy=metrics.psnr(x, noisy), psnr_denoised=metrics.psnr(x, out))


@torch.no_grad()
def inpaint(model, x, size, top, left):
    """Occlude a size x size block at (top, left), fill it with the model: images and PSNR inside the block."""
    model.eval()
    occluded, mask = block_occlusion(x, size, position=(top, left))
    out = model(occluded.to(_device(model))).cpu()
    filled = torch.where(mask, out, x)  # keep the known pixels: only the hole is the model's work
    block_mse = lambda img: float(((img - x)[mask.expand_as(x)] ** 2).mean())
    visible = (~mask).expand_as(x)
    seen_mean = (x * visible).sum((1, 2, 3), keepdim=True) / visible.sum((1, 2, 3), keepdim=True).clamp_min(1)
    mean_fill = torch.where(mask, seen_mean, x)  # the baseline may only use the pixels it can see
    to_db = lambda m: float("inf") if m == 0 else 10 * np.log10(1 / m)
    shown = torch.where(mask, torch.full_like(x, 0.5), x)  # grey, so a black block on a black background shows
    return dict(clean=images(x), occluded=images(shown), inpainted=images(filled),
                psnr_block=to_db(block_mse(filled)), psnr_mean_fill=to_db(block_mse(mean_fill)))


@torch.no_grad()
def segment(model, x, target, noise_level=0.0, seed=0):
    """Predicted masks for (optionally noisy) images, the true masks and the mean IoU."""
    model.eval()
    noisy = corrupt(x, "gaussian", noise_level, generator=torch.Generator().manual_seed(seed))
    pred = model(noisy.to(_device(model))).argmax(1).cpu()
    n = model.config.n_classes
    return dict(image=images(noisy), pred=pred.numpy(), truth=target.numpy(),
                iou=metrics.mean_iou(pred, target, n_classes=n),
                per_class=metrics.iou(pred, target, n_classes=n).tolist())


@torch.no_grad()
def codes(model, x):
    """All codes (N, k) as a numpy array; U-Net maps are flattened."""
    return metrics.encode_all(model, x).numpy()


def latent_2d(model, x):
    """Codes in two dimensions: the code itself when k = 2, else its first two principal components."""
    h = codes(model, x)
    if h.shape[1] == 2:
        return h, ("h1", "h2")
    if h.shape[1] == 1:
        return np.concatenate([h, np.zeros_like(h)], 1), ("h1", "(none)")
    centred = h - h.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T, ("PC 1 of h", "PC 2 of h")


@torch.no_grad()
def decode(model, z):
    """Decode codes z (n, k) given as an array or tensor into display images."""
    model.eval()
    z = torch.as_tensor(np.asarray(z), dtype=torch.float32).to(_device(model))
    return images(model.decode(z))


@torch.no_grad()
def traverse(model, x, dims, values):
    """Decode the code of one image x (1, C, H, W) with unit dims[i] set to values[i]."""
    model.eval()
    h = model.encode(x.to(_device(model))).clone()  # (1, k)
    for d, v in zip(dims, values):
        h[0, d] = v
    return images(model.decode(h))[0]


@torch.no_grad()
def interpolate(model, xa, xb, steps=8):
    """Decode codes on the straight line from f(xa) to f(xb): steps images."""
    model.eval()
    dev = _device(model)
    ha, hb = model.encode(xa.to(dev)), model.encode(xb.to(dev))
    t = torch.linspace(0, 1, steps, device=dev)[:, None]
    return images(model.decode((1 - t) * ha + t * hb))


@torch.no_grad()
def normal_grid(model, n=8):
    """VAE with a 2-D code: decode z on an n x n grid of standard-normal quantiles -> (n*n, H, W)."""
    if model.config.bottleneck != 2:
        raise ValueError(f"normal_grid needs a 2-D latent space, this model has {model.config.bottleneck}")
    q = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0.05, 0.95, n))
    z = torch.stack(torch.meshgrid(q, q.flip(0), indexing="xy"), -1).reshape(-1, 2)
    return decode(model, z)


@torch.no_grad()
def samples(model, n=16, seed=0):
    """VAE: n images decoded from z ~ N(0, I)."""
    return images(model.sample(n, generator=torch.Generator().manual_seed(seed)).cpu())


@torch.no_grad()
def code_ranges(model, x):
    """Per unit (min, max) of the codes over x, for traversal slider limits."""
    h = codes(model, x)
    return h.min(0), h.max(0)


@torch.no_grad()
def features(model, x, n=16):
    """What the n most used code units add to the output: g(s e_i) - g(0), s = the unit's largest value on x."""
    h = codes(model, x)
    units = np.argsort(-np.abs(h).mean(0))[:n]  # most used first: dead units would show as blanks
    scale = np.abs(h).max(0)[units]
    z = np.zeros((len(units), h.shape[1]), dtype=np.float32)
    z[np.arange(len(units)), units] = np.where(scale > 0, scale, 1.0)
    model.eval()
    dev = _device(model)
    base = model.decode(torch.zeros(1, h.shape[1], device=dev))
    out = (model.decode(torch.as_tensor(z, device=dev)) - base).cpu()
    return out[:, 0].numpy()  # signed: show with a diverging colour map


def code_stats(model, x, threshold=0.05):
    """Codes over x and how they are used: active fraction, dead units, mean Jacobian norm.

    A unit counts as active on an example when it exceeds `threshold` times the largest activation
    over x, so the numbers compare across kinds with different code scales.
    """
    h = torch.as_tensor(codes(model, x))
    scaled = h / h.abs().amax().clamp_min(1e-12)
    return dict(codes=h.numpy(), active=metrics.active_fraction(scaled, threshold),
                dead=metrics.dead_units(scaled, threshold), jacobian=metrics.jacobian_norm(model, x, max_samples=64))


@torch.no_grad()
def posterior_decodes(model, x, seed=0):
    """VAE: decode one draw z ~ q(z|x) per image (z = mu + sigma * eps), not the mean that reconstruct() decodes."""
    model.eval()
    mu, logvar = (t.cpu() for t in model.posterior(x.to(_device(model))))  # (N, k) each
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(seed))
    return decode(model, mu + (0.5 * logvar).exp() * eps)


def random_code_decodes(model, n=16, fit_to=None, seed=0):
    """Decode n random codes: from N(0, I), or from a Gaussian (mean, full covariance) fitted to the codes of fit_to.

    For any autoencoder: a plain one has no prior, so this asks what its decoder makes of codes nobody encoded.
    """
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    rng = np.random.default_rng(seed)
    k = model.config.bottleneck
    if fit_to is None:
        z = rng.standard_normal((n, k))
    else:
        h = codes(model, fit_to).astype(np.float64)  # (N, k)
        z = rng.multivariate_normal(h.mean(0), np.cov(h, rowvar=False).reshape(k, k), n)
    return decode(model, z.astype(np.float32))


# ---------------------------------------------------------------- 2-D toy models (points as inputs of shape (1, 1, 2))

from .data import _check_points, curve2d_nearest, curve2d_points, curve2d_tangents  # noqa: E402  (this section's own)


def _points_in(model, points):
    """Points (M, 2) as the model's input batch (M, 1, 1, 2) on its device; refuses a model that does not take 2 numbers."""
    shape = tuple(getattr(getattr(model, "config", None), "input_shape", ()))
    if int(np.prod(shape or (0,))) != 2:
        raise ValueError(f"this needs an aeteach model of 2-D points (input_shape (1, 1, 2), e.g. trained on "
                         f"data.make_curve2d), got input_shape {shape or type(model).__name__}")
    p = _check_points(points)
    return torch.as_tensor(p, dtype=torch.float32).reshape(len(p), *shape).to(_device(model))


def points_2d(data):
    """The points (N, 2) of a Dataset (or tensor) of 2-D points shaped (N, 1, 1, 2), as a float64 array."""
    x = getattr(data, "x", data)
    if not isinstance(x, torch.Tensor) or x[0].numel() != 2:
        raise ValueError(f"points_2d needs a Dataset of 2-D points (data.make_curve2d), got {type(data).__name__}")
    return x.detach().reshape(-1, 2).double().cpu().numpy()


def grid2d(n=15, lo=0.0, hi=1.0):
    """An n x n grid of points (n*n, 2) over [lo, hi]^2, row by row."""
    if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= 500:
        raise ValueError(f"n must be a whole number in [2, 500], got {n!r}")
    g = np.linspace(lo, hi, n)
    return np.stack(np.meshgrid(g, g, indexing="xy"), -1).reshape(-1, 2)


@torch.no_grad()
def reconstruct_2d(model, points):
    """g(f(p)) for points (M, 2), as an (M, 2) array."""
    model.eval()
    return model(_points_in(model, points)).reshape(-1, 2).double().cpu().numpy()


def denoising_field(model, points):
    """The vector g(f(p)) - p at each point (M, 2): for a denoiser, the step back towards the data (Alain & Bengio 2014)."""
    return reconstruct_2d(model, points) - _check_points(points)


def learned_manifold(model, n=60):
    """Where the model sends an n x n grid over the unit square: g(f(grid)), (n*n, 2). The points pile up on what it learned."""
    return reconstruct_2d(model, grid2d(n))


def encoder_directions(model, points):
    """At each point: the input direction the code is most sensitive to (the top right-singular vector of the encoder
    Jacobian dh/dx, (M, 2), unit length) and s2 / s1, how much less sensitive the other direction is (0 for a 1-unit code)."""
    x = _points_in(model, points).requires_grad_(True)
    model.eval()
    with torch.enable_grad():
        h = model.encode(x)  # (M, k): each code depends only on its own point, so one backward per unit gives a column
        rows = [torch.autograd.grad(h[:, j].sum(), x, retain_graph=True)[0].reshape(-1, 2) for j in range(h.shape[1])]
    jac = torch.stack(rows, 1).double().cpu()  # (M, k, 2)
    _, s, vh = torch.linalg.svd(jac, full_matrices=False)
    ratio = s[:, 1] / s[:, 0].clamp_min(1e-12) if s.shape[1] > 1 else torch.zeros(len(s), dtype=s.dtype)
    return vh[:, 0].numpy(), ratio.numpy()


def field_towards_curve(model, points):
    """Mean cosine between the denoising field at points (M, 2) and the direction to the nearest point of the toy curve (1: all point at it)."""
    p = _check_points(points)
    v, w = denoising_field(model, p), curve2d_nearest(p)[0] - p
    cos = (v * w).sum(1) / (np.linalg.norm(v, axis=1) * np.linalg.norm(w, axis=1)).clip(1e-12)
    return float(cos.mean())


def tangent_alignment(model, t):
    """Mean |cosine| between the encoder's most sensitive direction at the curve points of parameters t and the curve's tangent.

    1: the code changes only along the curve; about 0.64 (2 / pi) for directions at random.
    """
    d, _ = encoder_directions(model, curve2d_points(t))
    return float(np.abs((d * curve2d_tangents(t)).sum(1)).mean())
