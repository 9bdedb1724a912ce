"""Checks for notebook 09 (every autoencoder compared).

Each check recomputes its answer, on a setting the notebook does not print, so a number read off a table fails.
"""

import numpy as np
import torch
from sklearn.decomposition import PCA

from .. import metrics
from ..data import corrupt
from . import number as _number, report

SEEDS = (11, 12, 13)  # the checks average their own noise draws, so any seed the student used is fine
PCA_TOLERANCE_DB = 0.25  # a k this close to the best PSNR counts as best: the curve is flat near its top


def _pca_noisy_curve(x_train, x_test, sigma):
    """PSNR (dB, mean over SEEDS) of PCA with k = 1 .. d components applied to noisy x_test; and the noisy input's."""
    flat = x_train.flatten(1).double().numpy()
    d = min(flat.shape)
    pca = PCA(n_components=d).fit(flat)
    comps, mean = pca.components_, pca.mean_  # (d, D), (D,)
    curve, noisy_db = np.zeros(d), []
    for s in SEEDS:
        noisy = corrupt(x_test, "gaussian", sigma, generator=torch.Generator().manual_seed(s))
        scores = (noisy.flatten(1).double().numpy() - mean) @ comps.T  # (N, d)
        noisy_db.append(metrics.psnr(x_test, noisy))
        for k in range(1, d + 1):  # reconstruction from the first k components
            rec = np.clip(scores[:, :k] @ comps[:k] + mean, 0, 1)
            curve[k - 1] += metrics.psnr(x_test, torch.from_numpy(rec).float().reshape(x_test.shape)) / len(SEEDS)
    return curve, float(np.mean(noisy_db))


def check_pca_best_k(answer, x_train, x_test, sigma=0.3, table_k=8):
    """answer: the number of principal components k (fitted on clean x_train) that gives the best PSNR on x_test + noise."""
    if not all(isinstance(t, torch.Tensor) and t.dim() == 4 for t in (x_train, x_test)):
        return report(False, "pass train.x and test.x, tensors (N, C, H, W)")
    value = _number(answer)
    if value is None or value != int(value):
        return report(False, f"give one whole number of components k, got {answer!r}")
    curve, noisy_db = _pca_noisy_curve(x_train, x_test, sigma)
    k, d, best = int(value), len(curve), int(np.argmax(curve)) + 1
    if not 1 <= k <= d:
        return report(False, f"k must be between 1 and {d} (the number of pixels), got {k}")
    if curve[k - 1] >= curve.max() - PCA_TOLERANCE_DB:
        return report(True, "", f"k = {k} gives {curve[k - 1]:.1f} dB (best k = {best}: {curve.max():.1f} dB; noisy input "
                                f"{noisy_db:.1f} dB, k = {table_k}: {curve[table_k - 1]:.1f} dB, all {d}: {curve[-1]:.1f} dB). "
                                "Too few components lose the digit, too many keep the noise")
    if k == d:
        return report(False, "with every component PCA gives its input back, noise included; try fewer")
    if k == table_k:
        return report(False, f"{table_k} is the code size of the table, not a measured optimum: compute the PSNR for "
                             "several k (a loop) and take the largest")
    return report(False, f"k = {k} is {curve.max() - curve[k - 1]:.1f} dB below the best; fit PCA on the CLEAN training "
                         "images, reconstruct the noisy test images for each k, clip to [0, 1], and compare the PSNRs")


@torch.no_grad()
def _reconstruction(model, x):
    """model(x) on the model's device, back on the CPU, clipped to [0, 1] like the images the notebook shows."""
    model.eval()
    return model(x.to(next(model.parameters()).device)).cpu().clamp(0, 1)


def check_sharpness(answer, model, x, vae, table_k=8):
    """answer: Laplacian variance of the reconstructions of x by `model`, an undercomplete model with a code size not table_k."""
    value = _number(answer)
    if value is None:
        return report(False, f"give one number (a Laplacian variance), got {type(answer).__name__}")
    if not all(isinstance(m, torch.nn.Module) and hasattr(m, "config") for m in (model, vae)):
        return report(False, "pass your trained model and the notebook's VAE (models['vae'])")
    if model.config.kind != "undercomplete":
        return report(False, f"train an undercomplete model (ae.make_model('undercomplete', ...)), got {model.config.kind!r}")
    if model.config.bottleneck == table_k:
        return report(False, f"the table already has the undercomplete model at k = {table_k}; choose another code size")
    rec = _reconstruction(model, x)
    if metrics.mse(rec, x) >= metrics.mse(x.mean(0, keepdim=True).expand_as(x), x):
        return report(False, "this model reconstructs no better than the mean image: train it first (ae.fit)")
    truth, vae_sharp = metrics.laplacian_variance(rec), metrics.laplacian_variance(_reconstruction(vae, x))
    if abs(value - truth) > 0.02 * truth:
        return report(False, f"your model's reconstructions have another sharpness; compute metrics.laplacian_variance of "
                             "its reconstructions of the test images (clipped to [0, 1])")
    side = "sharper" if truth > vae_sharp else "blurrier"
    return report(True, "", f"k = {model.config.bottleneck}: {truth:.3f}, {side} than the VAE at k = {vae.config.bottleneck} "
                            f"({vae_sharp:.3f}; test images {metrics.laplacian_variance(x):.3f})")


def check_contraction_ratio(answer, contractive, twin, x, perturb, eps, printed=(("gaussian", 0.05),)):
    """answer: latent_sensitivity(contractive) / latent_sensitivity(twin) on x under (perturb, eps), a setting not printed."""
    value = _number(answer)
    if value is None:
        return report(False, f"give one number (a ratio), got {type(answer).__name__}")
    if not all(isinstance(m, torch.nn.Module) for m in (contractive, twin)):
        return report(False, "pass the contractive model and its lam = 0 twin")
    if perturb not in metrics.PERTURBATIONS:
        return report(False, f"perturb must be one of {', '.join(metrics.PERTURBATIONS)}, got {perturb!r}")
    if (perturb, eps) in printed:
        return report(False, f"the table already shows {perturb} with eps = {eps}; choose another change (e.g. perturb='brightness')")
    ratio = metrics.latent_sensitivity(contractive, x, perturb, eps) / metrics.latent_sensitivity(twin, x, perturb, eps)
    if abs(value - ratio) <= 0.03 * ratio:
        return report(True, "", f"under {perturb} {eps} the penalty leaves {ratio:.2f} of the twin's code movement")
    if abs(value - 1 / ratio) <= 0.03 / ratio:
        return report(False, "that is the ratio upside down: the contractive model's sensitivity divided by the twin's")
    return report(False, f"measure metrics.latent_sensitivity(model, x, perturb={perturb!r}, eps={eps}) for both models "
                         "and divide the contractive one by the twin's")


SCALE_CHOICES = {
    "a": "The KL penalty keeps activations near rho, so the code really is stable.",
    "b": "A sigmoid code lies in [0, 1], so its Jacobian is small whatever it learned: the norm is not scale-free.",
    "c": "The Jacobian is averaged over only 64 test images, too few to trust.",
}


def check_scale_question(answer):
    """answer: 'a', 'b' or 'c' for why a small ||J||_F of the sparse_kl code is no evidence that its code is stable."""
    hints = {"a": "look at the scale-free sensitivity column: relative to its spread, the sparse_kl code moves more than "
                  "the undercomplete one",
             "c": "64 images give a mean that varies by a few percent; the gap between the columns is many times that"}
    if answer not in SCALE_CHOICES:
        return report(False, f"answer with one of {', '.join(SCALE_CHOICES)}, got {answer!r}")
    if answer == "b":
        return report(True, "", "a small norm on a small scale says nothing; divide by the codes' spread, as "
                                "metrics.latent_sensitivity does")
    return report(False, hints[answer])
