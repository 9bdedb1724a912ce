"""Numbers that say how good (or how strange) an autoencoder is.

Reconstruction (mse, psnr), codes (active units, Jacobian norm, sensitivity), VAE (ELBO, bits/dim),
segmentation (IoU, Dice), baselines (PCA) and probes (linear, kNN), and a sharpness measure.
Models are used by duck typing only: `encode(x)`, `decode(h)`, `model(x)` and, for VAEs, `posterior(x)`.
"""

import math
from contextlib import contextmanager

import numpy as np
import sklearn
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

CHUNK = 1024  # examples per forward pass, so large test sets fit in memory
JAC_CHUNK = 2048  # Jacobian rows per backward pass: examples per pass = JAC_CHUNK // code size
PERTURBATIONS = ("gaussian", "brightness")
_PROB_EPS = 1e-6  # keeps log(p) finite in the Bernoulli likelihood


# ----------------------------------------------------------------------------- helpers

def _tensor(x, name, min_ndim=1):
    """Tensor (or array) -> float tensor, else ValueError."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    if x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    return x if x.is_floating_point() else x.float()


def _check_model(model, *methods):
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for m in methods:
        if not callable(getattr(model, m, None)):
            raise ValueError(f"model must have a {m}() method; {type(model).__name__} has none")


def _check_threshold(threshold):
    if not threshold >= 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")


def _device(model):
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@contextmanager
def _evaluating(model):
    """Eval mode inside, each submodule's own previous mode restored after."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


def _numpy2d(a, name):
    """Codes or images -> (N, D) float numpy array."""
    a = _tensor(a, name)
    return a.detach().cpu().reshape(len(a), -1).numpy()


def _labels(y, n, name):
    y = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y).reshape(-1)
    if len(y) != n:
        raise ValueError(f"{name} must have one label per row of codes ({n}), got {len(y)}")
    return y


# ----------------------------------------------------------------------------- reconstruction

def mse(a, b):
    """Mean squared error over all elements."""
    a, b = _tensor(a, "a"), _tensor(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    return float(((a.double() - b.double()) ** 2).mean())


def psnr(clean, other, data_range=1.0, per_image=True):
    """Peak signal-to-noise ratio in dB: the mean over images of per-image PSNR (inf where identical).

    per_image=False gives the PSNR of the mean squared error over the whole set instead, which stays
    finite when some images are untouched (light salt-and-pepper or masking noise on small images).
    (N, C, H, W) inputs are N images; anything with fewer dimensions is one image.
    """
    clean, other = _tensor(clean, "clean", 2), _tensor(other, "other", 2)
    if clean.shape != other.shape:
        raise ValueError(f"clean and other must have the same shape, got {tuple(clean.shape)} and {tuple(other.shape)}")
    if clean.ndim > 4:
        raise ValueError(f"clean must be (N, C, H, W) or a single image, got shape {tuple(clean.shape)}")
    if not data_range > 0:
        raise ValueError(f"data_range must be > 0, got {data_range}")
    if clean.ndim < 4:
        clean, other = clean[None], other[None]
    err = ((clean.double() - other.double()) ** 2).flatten(1).mean(1)  # (N,)
    if not per_image:
        err = err.mean(0, keepdim=True)
    with np.errstate(divide="ignore"):
        per_image = 10 * np.log10(data_range ** 2 / err.numpy())  # inf where err == 0
    return float(per_image.mean())


@torch.no_grad()
def reconstruction_mse(model, x):
    """MSE between model(x) and x, computed in chunks of CHUNK examples."""
    _check_model(model)
    x = _tensor(x, "x", 2)
    dev, sq = _device(model), 0.0
    with _evaluating(model):
        for xb in x.split(CHUNK):
            xb = xb.to(dev)
            out = model(xb)
            if out.shape != xb.shape:
                raise ValueError(f"model(x) must have the shape of x {tuple(xb.shape)}, got {tuple(out.shape)}")
            sq += float(((out.double() - xb.double()) ** 2).sum())
    return sq / x.numel()


# ----------------------------------------------------------------------------- codes

@torch.no_grad()
def encode_all(model, x):
    """Codes of all of x as an (N, k) CPU tensor; U-Net style (B, C, h, w) codes are flattened."""
    _check_model(model, "encode")
    x = _tensor(x, "x", 2)
    dev = _device(model)
    with _evaluating(model):
        codes = [model.encode(xb.to(dev)).reshape(len(xb), -1).cpu() for xb in x.split(CHUNK)]
    return torch.cat(codes)  # (N, k)


def _codes(codes):
    return _tensor(codes, "codes", 2).reshape(len(codes), -1)  # (B, k)


def active_fraction(codes, threshold=1e-3):
    """Fraction of (example, unit) entries with |h| > threshold, i.e. the mean L0 per example divided by k.

    codes: (B, k) tensor, e.g. from encode_all(model, x).
    """
    _check_threshold(threshold)
    return float((_codes(codes).abs() > threshold).float().mean())


def dead_units(codes, threshold=1e-3):
    """Number of units whose |h| never exceeds threshold on these codes (B, k)."""
    _check_threshold(threshold)
    return int((~(_codes(codes).abs() > threshold).any(0)).sum())


def jacobian_norm(model, x, max_samples=256, squared=False):
    """Mean over the first max_samples examples of ||d encode(x_i) / d x_i||_F (of its square if squared).

    The squared version is the contractive autoencoder's penalty. Each example is encoded k times (k the
    code size) and copy j keeps only unit j, so one backward pass gives every row of every Jacobian; this
    holds because an example's code does not depend on the rest of its batch (every aeteach model in eval
    mode). Plain autograd, not torch.func, whose first call imports torch._dynamo and sympy (about a second).
    """
    _check_model(model, "encode")
    x = _tensor(x, "x", 2)
    if not (isinstance(max_samples, int) and max_samples >= 1):
        raise ValueError(f"max_samples must be an int >= 1, got {max_samples!r}")
    x = x[:max_samples].detach()
    dev = _device(model)
    norms = []
    with _evaluating(model), torch.enable_grad():
        with torch.no_grad():
            k = model.encode(x[:1].to(dev)).numel()  # code size
        for xb in x.split(max(1, JAC_CHUNK // k)):
            xr = xb.to(dev).repeat_interleave(k, 0).requires_grad_(True)  # (B * k, C, H, W): copy j of example i
            h = model.encode(xr).reshape(len(xb), k, k)  # [i, j, :]: the code of copy j of example i
            if not h.requires_grad:  # a code that ignores x has a zero Jacobian
                norms.append(torch.zeros(len(xb), dtype=torch.float64))
                continue
            rows, = torch.autograd.grad(h.diagonal(dim1=1, dim2=2).sum(), xr, allow_unused=True)  # copy j: d h_j / d x
            sq = torch.zeros(len(xb), dtype=torch.float64) if rows is None else rows.reshape(len(xb), -1).double().pow(2).sum(1)
            norms.append(sq.cpu())
    sq = torch.cat(norms)  # (N,) squared Frobenius norms
    return float(sq.mean() if squared else sq.sqrt().mean())


def _perturb(x, perturb, eps, seed):
    if perturb not in PERTURBATIONS:
        raise ValueError(f"unknown perturb {perturb!r}; valid: {', '.join(PERTURBATIONS)}")
    if not eps >= 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    if perturb == "brightness":
        return (x + eps).clamp(0, 1)
    g = torch.Generator().manual_seed(seed)
    return (x + eps * torch.randn(x.shape, generator=g, dtype=x.dtype).to(x.device)).clamp(0, 1)  # CPU draw: same noise on any device


def latent_sensitivity(model, x, perturb="gaussian", eps=0.05, seed=0, x_perturbed=None):
    """Mean code change under a small input change, relative to the spread of the codes.

    Returns mean_i ||f(x~_i) - f(x_i)||_2 / mean_i ||f(x_i) - mean_j f(x_j)||_2, so models with different code
    scales compare fairly. x~ is x + N(0, eps^2) noise ("gaussian", seeded) or x + eps ("brightness"), clamped
    to [0, 1], or x_perturbed when given. nan if all codes are identical (no spread to compare with).
    """
    x = _tensor(x, "x", 2)
    if len(x) < 2:
        raise ValueError(f"x must hold at least 2 examples to measure the spread of codes, got {len(x)}")
    if x_perturbed is None:
        x_perturbed = _perturb(x, perturb, eps, seed)
    x_perturbed = _tensor(x_perturbed, "x_perturbed", 2)
    if x_perturbed.shape != x.shape:
        raise ValueError(f"x_perturbed must have the shape of x {tuple(x.shape)}, got {tuple(x_perturbed.shape)}")
    h, h2 = encode_all(model, x).double(), encode_all(model, x_perturbed).double()  # (N, k)
    spread = (h - h.mean(0)).norm(dim=1).mean()
    if spread == 0:
        return float("nan")
    return float((h2 - h).norm(dim=1).mean() / spread)


def active_set_change(model, x, x_perturbed, threshold=1e-3):
    """Mean Jaccard distance between the sets of active units (|h| > threshold) of f(x) and f(x~).

    0 means the same units fire, 1 means disjoint sets; two empty sets count as 0.
    """
    _check_threshold(threshold)
    x, x_perturbed = _tensor(x, "x", 2), _tensor(x_perturbed, "x_perturbed", 2)
    if x_perturbed.shape != x.shape:
        raise ValueError(f"x_perturbed must have the shape of x {tuple(x.shape)}, got {tuple(x_perturbed.shape)}")
    a = encode_all(model, x).abs() > threshold  # (N, k)
    b = encode_all(model, x_perturbed).abs() > threshold
    inter, union = (a & b).sum(1).double(), (a | b).sum(1).double()
    dist = torch.where(union > 0, 1 - inter / union.clamp(min=1), torch.zeros_like(union))
    return float(dist.mean())


# ----------------------------------------------------------------------------- VAE

def gaussian_kl(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) per example, summed over all but the first dim: (B, ...) -> (B,).

    Differentiable; the VAE loss uses it.
    """
    if not (isinstance(mu, torch.Tensor) and isinstance(logvar, torch.Tensor)):
        raise ValueError(f"mu and logvar must be torch.Tensors, got {type(mu).__name__} and {type(logvar).__name__}")
    if mu.shape != logvar.shape or mu.ndim < 2:
        raise ValueError(f"mu and logvar must have the same shape (B, k), got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).flatten(1).sum(1)


@torch.no_grad()
def elbo(model, x, n_samples=1, seed=0):
    """Mean ELBO per example in nats: E_q[log p(x|z)] - KL(q(z|x) || N(0, I)), Bernoulli decoder.

    The expectation is averaged over n_samples reparameterised draws z = mu + std * eps, with
    eps = torch.randn((n_samples, N, k)) from torch.Generator().manual_seed(seed) on the CPU, so the
    same seed gives the same estimate on any device and for any CHUNK.
    """
    _check_model(model, "posterior", "decode")
    x = _tensor(x, "x", 2)
    if not (isinstance(n_samples, int) and n_samples >= 1):
        raise ValueError(f"n_samples must be an int >= 1, got {n_samples!r}")
    if x.min() < 0 or x.max() > 1:
        raise ValueError(f"x must lie in [0, 1] for a Bernoulli likelihood, got [{float(x.min())}, {float(x.max())}]")
    dev = _device(model)
    with _evaluating(model):
        post = [model.posterior(xb.to(dev)) for xb in x.split(CHUNK)]
        mu = torch.cat([m for m, _ in post]).cpu()  # (N, k)
        logvar = torch.cat([lv for _, lv in post]).cpu()
        # draw all noise at once on CPU: same numbers whatever CHUNK or device
        noise = torch.randn((n_samples, *mu.shape), generator=torch.Generator().manual_seed(seed), dtype=mu.dtype)
        z = mu + (0.5 * logvar).exp() * noise  # (S, N, k)
        log_px = torch.zeros(len(x), dtype=torch.float64)
        for s in range(n_samples):
            for i, xb in zip(range(0, len(x), CHUNK), x.split(CHUNK)):
                p = model.decode(z[s, i:i + len(xb)].to(dev))
                if p.shape != xb.shape:
                    raise ValueError(f"decode(z) must have the shape of x {tuple(xb.shape)}, got {tuple(p.shape)}")
                if not torch.isfinite(p).all():  # else binary_cross_entropy fails with a message about [0, 1]
                    raise ValueError("decode(z) gave NaN or inf: the model's weights are not finite")
                p = p.clamp(_PROB_EPS, 1 - _PROB_EPS)
                bce = F.binary_cross_entropy(p, xb.to(dev), reduction="none")
                log_px[i:i + len(xb)] -= bce.flatten(1).sum(1).double().cpu()  # sum over pixels
        log_px /= n_samples
    return float((log_px - gaussian_kl(mu, logvar).double()).mean())


def bits_per_dim(elbo_nats, n_dims):
    """Negative ELBO in bits per dimension: -elbo / (n_dims * ln 2)."""
    if not (isinstance(n_dims, int) and n_dims >= 1):
        raise ValueError(f"n_dims must be an int >= 1, got {n_dims!r}")
    if not math.isfinite(elbo_nats):
        raise ValueError(f"elbo_nats must be a finite number, got {elbo_nats}")
    return -elbo_nats / (n_dims * math.log(2))


# ----------------------------------------------------------------------------- segmentation

def _confusion(pred, target, n_classes):
    """(n_classes, n_classes) counts, rows = target class, columns = predicted class."""
    if not (isinstance(n_classes, int) and n_classes >= 1):
        raise ValueError(f"n_classes must be an int >= 1, got {n_classes!r}")
    for name, t in (("pred", pred), ("target", target)):
        if not isinstance(t, torch.Tensor) or t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
            raise ValueError(f"{name} must be an integer torch.Tensor (N, H, W), got {getattr(t, 'dtype', type(t).__name__)}")
        if t.numel() and (t.min() < 0 or t.max() >= n_classes):
            raise ValueError(f"{name} values must be in [0, {n_classes - 1}], got [{int(t.min())}, {int(t.max())}]")
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {tuple(pred.shape)} and {tuple(target.shape)}")
    idx = target.reshape(-1).long() * n_classes + pred.reshape(-1).long()
    return torch.bincount(idx, minlength=n_classes ** 2).reshape(n_classes, n_classes).double()


def _overlap(pred, target, n_classes, ignore_empty, score):
    cm = _confusion(pred, target, n_classes)
    inter = cm.diag()
    n_target, n_pred = cm.sum(1), cm.sum(0)
    empty = (n_target + n_pred) == 0
    return torch.where(empty, float("nan") if ignore_empty else 1.0, score(inter, n_target, n_pred))


def iou(pred, target, n_classes, ignore_empty=True):
    """Per-class IoU (n_classes,), counts summed over the whole set.

    Classes absent from both pred and target give nan (ignore_empty=True) or 1.0 (ignore_empty=False).
    """
    return _overlap(pred, target, n_classes, ignore_empty,
                    lambda i, t, p: i / (t + p - i).clamp(min=1))


def mean_iou(pred, target, n_classes, ignore_empty=True):
    """Mean of iou over classes, skipping nan (classes absent from both)."""
    return float(torch.nanmean(iou(pred, target, n_classes, ignore_empty)))


def dice(pred, target, n_classes, ignore_empty=True):
    """Per-class Dice 2|A and B| / (|A| + |B|) (n_classes,), counts summed over the whole set; empty as in iou."""
    return _overlap(pred, target, n_classes, ignore_empty,
                    lambda i, t, p: 2 * i / (t + p).clamp(min=1))


# ----------------------------------------------------------------------------- baselines and probes

def _fit_pca(x_train, x_test, k_max):
    a, b = _numpy2d(x_train, "x_train"), _numpy2d(x_test, "x_test")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x_train and x_test must have the same features per example, got {a.shape[1]} and {b.shape[1]}")
    limit = min(a.shape)
    if not (isinstance(k_max, (int, np.integer)) and 1 <= k_max <= limit):
        raise ValueError(f"k must be an int in [1, {limit}] (min of n_train, n_features), got {k_max!r}")
    # both solvers are exact; the covariance one is ~10x faster and smaller for tall data (sklearn >= 1.5)
    new = tuple(int(v) for v in sklearn.__version__.split(".")[:2]) >= (1, 5)
    solver = "covariance_eigh" if new and a.shape[0] >= a.shape[1] else "full"
    return PCA(n_components=int(k_max), svd_solver=solver).fit(a), b


def pca_baseline(x_train, x_test, k):
    """Test MSE of a k-component PCA fitted on x_train (flattened): the best linear autoencoder."""
    pca, b = _fit_pca(x_train, x_test, k)
    return float(np.mean((pca.inverse_transform(pca.transform(b)) - b) ** 2, dtype=np.float64))


def pca_curve(x_train, x_test, ks):
    """Test MSE of PCA for each k in ks: one fit with max(ks) components, truncated for the smaller ones."""
    ks = list(ks)
    if not ks:
        raise ValueError("ks must be a non-empty list of ints >= 1, got []")
    bad = [k for k in ks if not (isinstance(k, (int, np.integer)) and k >= 1)]
    if bad:
        raise ValueError(f"ks must hold ints >= 1, got {bad}")
    pca, b = _fit_pca(x_train, x_test, max(ks))
    V = pca.components_.astype(np.float64)  # (k_max, D), rows ordered by explained variance
    centred = b.astype(np.float64) - pca.mean_
    out = []
    for k in ks:
        recon = centred @ V[:k].T @ V[:k]  # (N, D)
        out.append(float(np.mean((recon - centred) ** 2)))
    return out


def _probe_data(codes_train, y_train, codes_test, y_test):
    a, b = _numpy2d(codes_train, "codes_train"), _numpy2d(codes_test, "codes_test")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"codes_train and codes_test must have the same width, got {a.shape[1]} and {b.shape[1]}")
    ya, yb = _labels(y_train, len(a), "y_train"), _labels(y_test, len(b), "y_test")
    if len(np.unique(ya)) < 2:
        raise ValueError(f"y_train must hold at least 2 classes, got {np.unique(ya).tolist()}")
    return a, ya, b, yb


def linear_probe(codes_train, y_train, codes_test, y_test):
    """Test accuracy of logistic regression on standardised codes: how linearly readable the classes are."""
    a, ya, b, yb = _probe_data(codes_train, y_train, codes_test, y_test)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return float(clf.fit(a, ya).score(b, yb))


def knn_accuracy(codes_train, y_train, codes_test, y_test, k=5):
    """Test accuracy of a k-nearest-neighbour classifier on the raw codes (Euclidean distance)."""
    a, ya, b, yb = _probe_data(codes_train, y_train, codes_test, y_test)
    if not (isinstance(k, int) and 1 <= k <= len(a)):
        raise ValueError(f"k must be an int in [1, {len(a)}] (the number of training codes), got {k!r}")
    return float(KNeighborsClassifier(n_neighbors=k).fit(a, ya).score(b, yb))


# ----------------------------------------------------------------------------- sharpness

def laplacian_variance(images):
    """Mean over images of the variance of the discrete Laplacian (valid region); blurrier means smaller."""
    images = _tensor(images, "images", 4)
    if images.ndim != 4 or images.shape[-1] < 3 or images.shape[-2] < 3:
        raise ValueError(f"images must be (N, C, H, W) with H, W >= 3, got shape {tuple(images.shape)}")
    n, c, h, w = images.shape
    kernel = torch.tensor([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=torch.float64).reshape(1, 1, 3, 3)
    lap = F.conv2d(images.detach().cpu().double().reshape(n * c, 1, h, w), kernel)  # (N*C, 1, H-2, W-2)
    return float(lap.reshape(n, -1).var(1, correction=0).mean())


# ----------------------------------------------------------------------------- VAE: information per dimension

@torch.no_grad()
def kl_per_dim(model, x):
    """VAE: KL(q(z_j|x) || N(0, 1)) of each latent dimension j, averaged over x, in nats: (k,) CPU tensor.

    A dimension near 0 nats copies the prior for every image (it carries no information about x).
    """
    _check_model(model, "posterior")
    x = _tensor(x, "x", 2)
    dev = _device(model)
    with _evaluating(model):
        post = [model.posterior(xb.to(dev)) for xb in x.split(CHUNK)]
    mu = torch.cat([m for m, _ in post]).cpu().double()  # (N, k)
    logvar = torch.cat([lv for _, lv in post]).cpu().double()
    return (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).mean(0).float()


# ----------------------------------------------------------------------------- do generated images look like data?

def image_classifier(x, y, n_components=50, seed=0):
    """A classifier trained on real labelled images (PCA to n_components, then logistic regression), fitted.

    It judges generated images without knowing how they were made: see classifier_confidence.
    """
    a = _numpy2d(x, "x")
    ya = _labels(y, len(a), "y")
    if len(np.unique(ya)) < 2:
        raise ValueError(f"y must hold at least 2 classes, got {np.unique(ya).tolist()}")
    if not (isinstance(n_components, int) and 1 <= n_components <= min(a.shape)):
        raise ValueError(f"n_components must be an int in [1, {min(a.shape)}], got {n_components!r}")
    clf = make_pipeline(PCA(n_components, random_state=seed), LogisticRegression(max_iter=1000))
    return clf.fit(a, ya)


def classifier_confidence(clf, images):
    """Mean over images of the classifier's largest class probability: near 1 when each image is clearly one class.

    Unlike a sharpness measure, it is low for sharp images that look like no class in the training data.
    """
    if not callable(getattr(clf, "predict_proba", None)):
        raise ValueError(f"clf must be a fitted classifier with predict_proba (see image_classifier), got {type(clf).__name__}")
    return float(clf.predict_proba(_numpy2d(images, "images")).max(1).mean())


def classifier_score(clf, images):
    """exp(mean over images of KL(p(y|x) || p(y))): the Inception Score (Salimans et al. 2016) with clf as the judge.

    Between 1 and the number of classes: high when each image is confidently one class and the classes are
    equally common. Blur lowers it a little; noise, ghosts and one repeated shape bring it near 1.
    """
    if not callable(getattr(clf, "predict_proba", None)):
        raise ValueError(f"clf must be a fitted classifier with predict_proba (see image_classifier), got {type(clf).__name__}")
    p = clf.predict_proba(_numpy2d(images, "images")).astype(np.float64).clip(1e-12, 1)  # (N, classes)
    marginal = p.mean(0)
    return float(np.exp((p * (np.log(p) - np.log(marginal))).sum(1).mean()))


# ----------------------------------------------------------------------------- anomaly scores

def reconstruction_errors(model, x):
    """Per-example MSE between model(x) and x, as an (N,) float64 numpy array.

    For a model trained on normal data only, this is the usual anomaly score: high where the model has
    not learned to rebuild the input (Sakurada and Yairi 2014).
    """
    _check_model(model)
    x = _tensor(x, "x", 2)
    dev, out = _device(model), []
    with _evaluating(model), torch.no_grad():
        for xb in x.split(CHUNK):
            rec = model(xb.to(dev)).cpu()
            if rec.shape != xb.shape:
                raise ValueError(f"model(x) must have the shape of x {tuple(xb.shape)}, got {tuple(rec.shape)}")
            out.append(((rec.double() - xb.double()) ** 2).flatten(1).mean(1))
    return torch.cat(out).numpy()


def pca_errors(x_train, x_test, k):
    """Per-example MSE of a k-component PCA fitted on x_train and applied to x_test, as an (N,) numpy array."""
    pca, b = _fit_pca(x_train, x_test, k)
    return np.mean((pca.inverse_transform(pca.transform(b)) - b) ** 2, axis=1, dtype=np.float64)
