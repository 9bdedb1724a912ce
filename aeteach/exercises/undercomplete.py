"""Checks for 01_undercomplete: PCA by hand, the subspace a linear autoencoder finds, the best constant per loss."""
import torch

from . import close, number as _number, report
from ..metrics import pca_baseline



def check_pca_mse(train, test, k, answer):
    """answer: test MSE of a k-component PCA fitted on train, computed by hand (centre, SVD, project, add back)."""
    value = _number(answer)
    if value is None:
        return report(False, f"answer should be one number (the test MSE), got {type(answer).__name__}")
    truth = pca_baseline(train.x, test.x, k)
    if close(value, truth, rel=0.01):
        return report(True, "", f"your PCA matches metrics.pca_baseline for k = {k}")
    train_only = pca_baseline(train.x, train.x, k)
    if close(value, train_only, rel=0.01):
        return report(False, "that is the error on the training images; project and reconstruct test.x instead")
    return report(False, "flatten to (N, 64), subtract the TRAINING mean from both sets, take the top-k right-singular "
                         "vectors V of the centred training data, reconstruct test as (x - mean) @ V.T @ V + mean, "
                         "and average the squared error over all test pixels")


def subspace_overlap(model, train):
    """Mean squared cosine of the principal angles between the decoder's column space and the top-k PCA subspace."""
    weight = model.decoder[0].weight.detach().cpu().double()  # (64, k): the decoder's columns
    k = weight.shape[1]
    q, _ = torch.linalg.qr(weight)  # orthonormal basis of the decoder's columns, (64, k)
    x = train.x.reshape(len(train.x), -1).double()
    _, _, vt = torch.linalg.svd(x - x.mean(0), full_matrices=False)
    return float((vt[:k] @ q).pow(2).sum() / k)


def check_subspace_overlap(model, train, answer):
    """answer: mean squared cosine of the principal angles between span(decoder weight) and the top-k PCA subspace."""
    if getattr(getattr(model, "config", None), "kind", None) != "linear":
        return report(False, "pass the trained linear autoencoder (kind 'linear'): only its decoder is one matrix")
    value = _number(answer)
    if value is None:
        return report(False, f"answer should be one number between 0 and 1, got {type(answer).__name__}")
    truth = subspace_overlap(model, train)
    if abs(value - truth) <= 0.01:
        return report(True, "", "same subspace as PCA, even though the decoder's columns are not the principal axes")
    if value > 1.0 + 1e-6:
        return report(False, "the overlap cannot exceed 1: orthonormalise the decoder's columns (torch.linalg.qr) "
                             "and divide ||V_k Q||_F^2 by k")
    return report(False, "orthonormalise the decoder weight (64, k) with torch.linalg.qr, take the top-k right-singular "
                         "vectors V_k (k, 64) of the centred training images, then compute ||V_k Q||_F^2 / k")


def check_best_constants(values, c_mse, c_mae):
    """c_mse, c_mae: the constants that minimise the mean squared and the mean absolute error to `values`."""
    a, b = _number(c_mse), _number(c_mae)
    if a is None or b is None:
        return report(False, "give two numbers: the best constant under squared error, then under absolute error")
    v = torch.as_tensor(values, dtype=torch.float64).flatten()
    sq = lambda c: float(((v - c) ** 2).mean())
    ab = lambda c: float((v - c).abs().mean())
    best_sq, best_ab = sq(float(v.mean())), ab(float(v.median()))
    ok_sq, ok_ab = sq(a) <= best_sq + 1e-4, ab(b) <= best_ab + 1e-3
    if ok_sq and ok_ab:
        return report(True, "", "squared error picks the mean (a grey hedge), absolute error the median (it commits)")
    if sq(b) <= best_sq + 1e-4 and ab(a) <= best_ab + 1e-3:
        return report(False, "your two constants are swapped: give the squared-error one (c_mse) first, then c_mae")
    which = "squared" if not ok_sq else "absolute"
    return report(False, f"your {which}-error constant does not minimise its loss: evaluate the loss on a fine grid of "
                         "constants between 0 and 1 and take the argmin (then compare it with the mean and median)")
