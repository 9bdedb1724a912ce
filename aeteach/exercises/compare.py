"""Checks for notebook 09 (every autoencoder compared)."""

import numpy as np
import torch
from sklearn.decomposition import PCA

from .. import metrics
from ..data import corrupt
from . import number as _number, report

SEEDS = (11, 12, 13)  # the check averages its own noise draws, so any seed the student used is fine



def _models_ok(answer, models):
    """None when models is a non-empty dict of modules and answer one of its keys, else a hint."""
    if not isinstance(models, dict) or not models or not all(isinstance(m, torch.nn.Module) for m in models.values()):
        return "pass the dict of trained models keyed by kind (models in the notebook)"
    if answer not in models:
        return f"answer with one of the kinds {', '.join(models)}, got {answer!r}"
    return None


@torch.no_grad()
def _reconstruction(model, x):
    """model(x) on the model's device, back on the CPU, clipped to [0, 1] like the images the notebook shows."""
    model.eval()
    return model(x.to(next(model.parameters()).device)).cpu().clamp(0, 1)


def check_pca_noisy_psnr(answer, x_train, x_test, k=8, sigma=0.3):
    """answer: PSNR in dB of a k-component PCA (fitted on clean x_train) applied to x_test with Gaussian noise sigma."""
    value = _number(answer)
    if value is None:
        return report(False, f"give one number in dB, got {type(answer).__name__}")
    if not all(isinstance(t, torch.Tensor) and t.dim() == 4 for t in (x_train, x_test)):
        return report(False, "pass train.x and test.x, tensors (N, C, H, W)")
    pca = PCA(n_components=k).fit(x_train.flatten(1).double().numpy())
    scores, noisy_scores = [], []
    for s in SEEDS:
        noisy = corrupt(x_test, "gaussian", sigma, generator=torch.Generator().manual_seed(s))
        rec = pca.inverse_transform(pca.transform(noisy.flatten(1).double().numpy()))
        rec = torch.from_numpy(np.clip(rec, 0, 1)).float().reshape(x_test.shape)
        scores.append(metrics.psnr(x_test, rec))
        noisy_scores.append(metrics.psnr(x_test, noisy))
    truth, noisy_psnr = float(np.mean(scores)), float(np.mean(noisy_scores))
    if abs(value - truth) <= 0.3:
        return report(True, "", f"PCA with k = {k} turns {noisy_psnr:.1f} dB of noisy input into {truth:.1f} dB: "
                                "projecting onto a few directions already removes part of the noise")
    if abs(value - noisy_psnr) <= 0.3:
        return report(False, "that is the PSNR of the noisy input itself; project it onto the principal components "
                             "and back (pca.inverse_transform(pca.transform(...))) first")
    return report(False, f"fit PCA(n_components={k}) on the CLEAN training images (flattened), reconstruct the noisy test "
                         "images, clip to [0, 1], and compare with the clean test images using metrics.psnr")


def check_blurriest(answer, models, x):
    """answer: the kind whose reconstructions of x have the smallest Laplacian variance (the blurriest)."""
    hint = _models_ok(answer, models)
    if hint:
        return report(False, hint)
    sharp = {kind: metrics.laplacian_variance(_reconstruction(m, x)) for kind, m in models.items()}
    lowest = min(sharp.values())
    if sharp[answer] <= 1.02 * lowest:
        return report(True, "", f"{answer} reconstructions have a Laplacian variance of {sharp[answer]:.3f} "
                                f"(the test images: {metrics.laplacian_variance(x):.3f})")
    return report(False, f"{answer} is not the blurriest here; measure metrics.laplacian_variance(model(x)) for every "
                         "kind rather than trusting the slides")


def check_most_stable(answer, models, x):
    """answer: the kind with the smallest metrics.latent_sensitivity on x (default perturbation)."""
    hint = _models_ok(answer, models)
    if hint:
        return report(False, hint)
    sens = {kind: metrics.latent_sensitivity(m, x) for kind, m in models.items()}
    lowest = min(sens.values())
    if sens[answer] <= 1.02 * lowest:
        return report(True, "", f"{answer}: its code moves {sens[answer]:.3f} of the codes' spread under small noise")
    return report(False, f"{answer} moves {sens[answer] / lowest:.1f} times as much as the most stable kind; "
                         "compute metrics.latent_sensitivity(model, x) for each kind and take the smallest")
