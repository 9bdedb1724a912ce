"""Each metric against an independent reference: skimage, sklearn, scipy, torch.distributions, closed forms."""

import math

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage.filters import gaussian
from skimage.metrics import peak_signal_noise_ratio
from sklearn.metrics import f1_score, jaccard_score
from torch import nn
from torch.distributions import Bernoulli, Normal, kl_divergence

import aeteach as ae
from aeteach import metrics

SHAPE = (1, 2, 3)  # tiny (C, H, W) so Jacobians stay small


class LinearAE(nn.Module):
    """h = W x (+ sigmoid if asked); decode is W^T h. Follows the encode/decode/forward interface."""

    def __init__(self, k=4, sigmoid=False, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.W = nn.Parameter(torch.randn(k, math.prod(SHAPE), generator=g))
        self.b = nn.Parameter(torch.randn(k, generator=g) if sigmoid else torch.zeros(k))
        self.sigmoid = sigmoid

    def encode(self, x):
        h = x.flatten(1) @ self.W.T + self.b  # (B, k)
        return torch.sigmoid(h) if self.sigmoid else h

    def decode(self, h):
        return (h @ self.W).reshape(len(h), *SHAPE)

    def forward(self, x):
        return self.decode(self.encode(x))


class Half(nn.Module):
    forward = staticmethod(lambda x: 0.5 * x)


class Flat(nn.Module):
    """Identity encoder, code = flattened input; a (B, 2, 2, 2) code mimics a U-Net bottleneck."""

    def encode(self, x):
        return x.reshape(len(x), 2, 2, 2) if x[0].numel() == 8 else x.flatten(1)


class FakeVAE(nn.Module):
    def __init__(self, k=3, logvar=0.0):
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.A = nn.Parameter(torch.randn(k, 6, generator=g))
        self.B = nn.Parameter(torch.randn(6, k, generator=g))
        self.logvar = logvar

    def posterior(self, x):
        mu = x.flatten(1) @ self.A.T  # (B, k)
        return mu, torch.full_like(mu, self.logvar)

    def decode(self, z):
        return torch.sigmoid(z @ self.B.T).reshape(len(z), *SHAPE)


def images(n=10, seed=0):
    return torch.rand((n, *SHAPE), generator=torch.Generator().manual_seed(seed))


def test_mse_and_psnr_match_numpy_and_skimage():
    a, b = images(5, 0), images(5, 1)
    assert metrics.mse(a, b) == pytest.approx(float(np.mean((a.numpy() - b.numpy()) ** 2)), rel=1e-6)
    ref = np.mean([peak_signal_noise_ratio(a[i].numpy(), b[i].numpy(), data_range=1.0) for i in range(5)])
    assert metrics.psnr(a, b) == pytest.approx(ref, rel=1e-6)
    assert metrics.psnr(255 * a, 255 * b, data_range=255) == pytest.approx(ref, rel=1e-6)
    assert metrics.psnr(a[0, 0], b[0, 0]) == pytest.approx(peak_signal_noise_ratio(a[0, 0].numpy(), b[0, 0].numpy(), data_range=1.0), rel=1e-6)
    assert metrics.psnr(a, a.clone()) == math.inf


def test_reconstruction_mse_in_chunks_restores_train_mode(monkeypatch):
    x, model = images(7), Half().train()
    monkeypatch.setattr(metrics, "CHUNK", 3)
    assert metrics.reconstruction_mse(model, x) == pytest.approx(float((0.25 * x.double() ** 2).mean()), rel=1e-9)
    assert model.training


def test_encode_all_flattens_and_is_chunk_independent(monkeypatch):
    x = images(5).reshape(5, 1, 2, 3)[:, :, :2, :2].repeat(1, 2, 1, 1)  # (5, 2, 2, 2)
    full = metrics.encode_all(Flat(), x)
    monkeypatch.setattr(metrics, "CHUNK", 2)
    assert full.shape == (5, 8) and torch.equal(metrics.encode_all(Flat(), x), full)
    assert torch.equal(full, x.reshape(5, 8))


def test_active_fraction_and_dead_units():
    codes = torch.tensor([[0.0, 0.5, 0.0, -2.0], [0.0, 0.0, 1e-4, 3.0]])
    assert metrics.active_fraction(codes) == pytest.approx(3 / 8)
    assert metrics.dead_units(codes) == 2 and metrics.dead_units(codes, threshold=1e-5) == 1  # units 0, 2 / 0
    assert metrics.active_fraction(codes, threshold=0.6) == pytest.approx(2 / 8)


def test_jacobian_norm_linear_is_frobenius_of_W():
    model = LinearAE()
    W = model.W.detach()
    assert metrics.jacobian_norm(model, images(5)) == pytest.approx(float(W.norm()), rel=1e-5)
    assert metrics.jacobian_norm(model, images(5), squared=True) == pytest.approx(float(W.norm() ** 2), rel=1e-5)


def test_jacobian_norm_sigmoid_closed_form():
    model, x = LinearAE(sigmoid=True), images(40)
    with torch.no_grad():
        h = model.encode(x)  # (B, k)
        sq = ((h * (1 - h)) ** 2 * (model.W ** 2).sum(1)).sum(1)  # contractive closed form, (B,)
    assert metrics.jacobian_norm(model, x) == pytest.approx(float(sq.sqrt().mean()), rel=1e-5)
    assert metrics.jacobian_norm(model, x, max_samples=3, squared=True) == pytest.approx(float(sq[:3].mean()), rel=1e-5)


def test_latent_sensitivity_linear_closed_form():
    model, x = LinearAE(), 0.1 + 0.8 * images(20)  # away from 0 and 1 so the shift is not clamped
    with torch.no_grad():
        h = model.encode(x)
        spread = (h - h.mean(0)).norm(dim=1).mean()
        change = (0.05 * model.W.sum(1)).norm()  # W (x + eps) - W x = eps * W 1
    got = metrics.latent_sensitivity(model, x, perturb="brightness", eps=0.05)
    assert got == pytest.approx(float(change / spread), rel=1e-4)
    assert metrics.latent_sensitivity(model, x, x_perturbed=x + 0.05) == pytest.approx(got, rel=1e-4)
    g0 = metrics.latent_sensitivity(model, x, seed=0)
    assert g0 == metrics.latent_sensitivity(model, x, seed=0) != metrics.latent_sensitivity(model, x, seed=1)
    assert metrics.latent_sensitivity(model, x, eps=0.0) == 0.0


def test_active_set_change_is_jaccard_distance():
    x = torch.tensor([[1.0, 0, 1, 0], [0, 0, 0, 0], [1, 1, 0, 0]]).reshape(3, 1, 1, 4)
    x2 = torch.tensor([[1.0, 1, 0, 0], [0, 0, 0, 0], [1, 1, 0, 0]]).reshape(3, 1, 1, 4)
    # sets {0,2} vs {0,1}: 1 - 1/3; two empty sets: 0; equal sets: 0
    assert metrics.active_set_change(Flat(), x, x2) == pytest.approx((2 / 3) / 3)


def test_gaussian_kl_matches_torch_distributions_and_is_differentiable():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(6, 4, generator=g, requires_grad=True), torch.randn(6, 4, generator=g)
    ref = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(metrics.gaussian_kl(mu, logvar), ref)
    assert float(metrics.gaussian_kl(torch.tensor([[2.0]]), torch.zeros(1, 1))) == pytest.approx(2.0)
    metrics.gaussian_kl(mu, logvar).sum().backward()
    torch.testing.assert_close(mu.grad, mu.detach())  # d/dmu of mu^2/2


def _reference_elbo(model, x, n_samples, seed):
    """The ELBO from torch.distributions, with the draws metrics.elbo documents: randn((n_samples, N, k)), seeded."""
    with torch.no_grad():
        mu, logvar = model.posterior(x)
        q = Normal(mu, (0.5 * logvar).exp())
        eps = torch.randn((n_samples, *mu.shape), generator=torch.Generator().manual_seed(seed))
        log_px = torch.stack([Bernoulli(probs=model.decode(mu + q.stddev * e)).log_prob(x).flatten(1).sum(1) for e in eps])
        kl = kl_divergence(q, Normal(0.0, 1.0)).sum(-1)
    return float((log_px.mean(0) - kl).mean())


def test_elbo_against_torch_distributions_and_bits_per_dim(monkeypatch):
    x = (images(8) > 0.5).float()
    exact = FakeVAE(logvar=-30.0)  # std ~ 3e-7: z = mu, the ELBO needs no sampling
    assert metrics.elbo(exact, x) == pytest.approx(_reference_elbo(exact, x, 1, 0), rel=1e-5)
    noisy = FakeVAE(logvar=-1.0)  # std 0.6: the reparameterised draws matter
    e = metrics.elbo(noisy, x, n_samples=4, seed=3)
    assert e == pytest.approx(_reference_elbo(noisy, x, 4, 3), rel=1e-5)
    assert e != pytest.approx(_reference_elbo(noisy, x, 4, 4), rel=1e-3)  # another draw, another estimate
    monkeypatch.setattr(metrics, "CHUNK", 3)  # same noise whatever the chunking
    assert metrics.elbo(noisy, x, n_samples=4, seed=3) == pytest.approx(e, rel=1e-6)
    assert metrics.bits_per_dim(-784 * math.log(2), 784) == pytest.approx(1.0)


def test_elbo_of_an_aeteach_vae_is_minus_recon_and_kl():
    # -(recon + kl) from a Bernoulli decoder and a Gaussian posterior, through the model's own f and g
    model = ae.make_model("vae", SHAPE, 2, hidden=(5,))
    x = (images(6, 1) > 0.5).float()
    assert metrics.elbo(model, x, n_samples=3, seed=2) == pytest.approx(_reference_elbo(model, x, 3, 2), rel=1e-5)


def test_iou_and_dice_match_sklearn():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randint(0, 3, (4, 5, 5), generator=g), torch.randint(0, 3, (4, 5, 5), generator=g)
    p, t, labels = pred.flatten().numpy(), target.flatten().numpy(), [0, 1, 2, 3]  # class 3 absent from both
    ref_iou = jaccard_score(t, p, labels=labels, average=None, zero_division=1)
    ref_dice = f1_score(t, p, labels=labels, average=None, zero_division=1)
    np.testing.assert_allclose(metrics.iou(pred, target, 4, ignore_empty=False).numpy(), ref_iou)
    np.testing.assert_allclose(metrics.dice(pred, target, 4, ignore_empty=False).numpy(), ref_dice)
    assert torch.isnan(metrics.iou(pred, target, 4)[3]) and torch.isnan(metrics.dice(pred, target, 4)[3])
    assert metrics.mean_iou(pred, target, 4) == pytest.approx(float(np.mean(ref_iou[:3])))
    assert metrics.mean_iou(target, target, 4) == 1.0


def test_pca_baseline_and_curve_match_svd():
    g = torch.Generator().manual_seed(0)
    x_train, x_test = torch.randn(50, 1, 2, 4, generator=g), torch.randn(20, 1, 2, 4, generator=g)
    a, b = x_train.flatten(1).double().numpy(), x_test.flatten(1).double().numpy()
    _, _, Vt = np.linalg.svd(a - a.mean(0), full_matrices=False)
    c = b - a.mean(0)
    ref = {k: np.mean((c @ Vt[:k].T @ Vt[:k] - c) ** 2) for k in (1, 3, 8)}  # project on the top k directions
    for k in (1, 3):
        assert metrics.pca_baseline(x_train, x_test, k) == pytest.approx(ref[k], rel=1e-4)
    assert metrics.pca_curve(x_train, x_test, [1, 3, 8]) == pytest.approx([ref[1], ref[3], ref[8]], rel=1e-4, abs=1e-10)
    assert ref[8] < 1e-20  # all 8 directions: nothing is lost


def test_probes_on_xor_linear_fails_knn_succeeds():
    rng = np.random.default_rng(0)
    centres = np.array([[2, 2], [-2, -2], [2, -2], [-2, 2]], dtype=float)
    y = np.repeat([0, 0, 1, 1], 50)
    codes = torch.tensor(np.repeat(centres, 50, 0) + 0.3 * rng.standard_normal((200, 2)), dtype=torch.float32)
    tr, te = slice(0, 200, 2), slice(1, 200, 2)
    assert metrics.knn_accuracy(codes[tr], y[tr], codes[te], y[te], k=5) == 1.0
    assert metrics.linear_probe(codes[tr], y[tr], codes[te], y[te]) < 0.75  # XOR is not linearly separable
    blobs = torch.tensor(centres[:2]).repeat(10, 1) + 0.1 * torch.randn(20, 2, generator=torch.Generator().manual_seed(0))
    yb = np.tile([0, 1], 10)
    assert metrics.linear_probe(blobs[:10], yb[:10], blobs[10:], yb[10:]) == 1.0


def test_laplacian_variance_matches_scipy_and_drops_with_blur():
    x = images(3, 0).repeat(1, 2, 4, 4)  # (3, 2, 8, 12)
    # scipy's laplace on each (H, W) channel is the same cross kernel; the crop drops its padded border
    ref = np.mean([np.var([ndimage.laplace(ch.double().numpy())[1:-1, 1:-1] for ch in im]) for im in x])
    assert metrics.laplacian_variance(x) == pytest.approx(ref, rel=1e-9)
    blurred = torch.from_numpy(gaussian(x.numpy(), sigma=(0, 0, 1, 1))).float()
    assert metrics.laplacian_variance(blurred) < 0.5 * metrics.laplacian_variance(x)


BAD = [
    (lambda: metrics.mse(torch.zeros(2), torch.zeros(3)), "same shape"),
    (lambda: metrics.mse([1.0], torch.zeros(1)), "torch.Tensor or numpy"),
    (lambda: metrics.psnr(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), data_range=0), "data_range must be > 0"),
    (lambda: metrics.reconstruction_mse("model", torch.zeros(1, 1, 2, 2)), "torch.nn.Module"),
    (lambda: metrics.encode_all(Half(), torch.zeros(1, 1, 2, 2)), "encode"),
    (lambda: metrics.active_fraction(torch.zeros(2, 2), threshold=-1), "threshold must be >= 0"),
    (lambda: metrics.dead_units(torch.zeros(3)), "at least 2 dimensions"),
    (lambda: metrics.jacobian_norm(LinearAE(), images(2), max_samples=0), "max_samples must be an int >= 1"),
    (lambda: metrics.latent_sensitivity(LinearAE(), images(2), perturb="blur"), "valid: gaussian, brightness"),
    (lambda: metrics.latent_sensitivity(LinearAE(), images(2), eps=-1), "eps must be >= 0"),
    (lambda: metrics.latent_sensitivity(LinearAE(), images(1)), "at least 2 examples"),
    (lambda: metrics.active_set_change(LinearAE(), images(2), images(3)), "shape of x"),
    (lambda: metrics.gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 4)), "same shape"),
    (lambda: metrics.elbo(LinearAE(), images(2)), "posterior"),
    (lambda: metrics.elbo(FakeVAE(), images(2) + 1), r"\[0, 1\]"),
    (lambda: metrics.elbo(FakeVAE(), images(2), n_samples=0), "n_samples"),
    (lambda: metrics.elbo(FakeVAE(logvar=float("nan")), images(2)), "weights are not finite"),
    (lambda: metrics.bits_per_dim(-1.0, 0), "n_dims must be an int >= 1"),
    (lambda: metrics.iou(torch.zeros(2, 2).long(), torch.full((2, 2), 3), 3), r"values must be in \[0, 2\]"),
    (lambda: metrics.iou(torch.zeros(2, 2), torch.zeros(2, 2).long(), 3), "integer"),
    (lambda: metrics.dice(torch.zeros(2, 2).long(), torch.zeros(2, 3).long(), 3), "same shape"),
    (lambda: metrics.pca_baseline(torch.zeros(5, 4), torch.zeros(2, 4), 6), r"k must be an int in \[1, 4\]"),
    (lambda: metrics.pca_curve(torch.zeros(5, 4), torch.zeros(2, 4), []), "non-empty"),
    (lambda: metrics.linear_probe(torch.zeros(3, 2), [0, 0, 0], torch.zeros(1, 2), [0]), "at least 2 classes"),
    (lambda: metrics.knn_accuracy(torch.zeros(3, 2), [0, 1, 0], torch.zeros(1, 2), [0], k=4), r"k must be an int in \[1, 3\]"),
    (lambda: metrics.laplacian_variance(torch.zeros(1, 1, 2, 5)), "H, W >= 3"),
]


@pytest.mark.parametrize("call, match", BAD)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_psnr_of_the_whole_set_stays_finite_when_an_image_is_untouched():
    clean = torch.rand(3, 1, 4, 4)
    other = clean.clone()
    other[1:] += 0.1
    assert metrics.psnr(clean, other) == float("inf")
    assert metrics.psnr(clean, other, per_image=False) == pytest.approx(10 * math.log10(1 / (2 / 3 * 0.01)))
