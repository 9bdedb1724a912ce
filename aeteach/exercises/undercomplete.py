"""Checks for 01_undercomplete: PCA by hand, the subspace a linear autoencoder finds, the best constant per loss,
and reading the capacity sweep."""
import torch

from . import close, number as _number, report, multiple_choice
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


def _principal_directions(train, k):
    """The top-k principal directions of the training images, (k, d) float64."""
    x = train.x.reshape(len(train.x), -1).double()
    _, _, vt = torch.linalg.svd(x - x.mean(0), full_matrices=False)
    return vt[:k]


def subspace_overlap(model, train):
    """Mean squared cosine of the principal angles between the decoder's column space and the top-k PCA subspace."""
    weight = model.decoder[0].weight.detach().cpu().double()  # (64, k): the decoder's columns
    q, _ = torch.linalg.qr(weight)  # orthonormal basis of the decoder's columns, (64, k)
    return float((_principal_directions(train, weight.shape[1]) @ q).pow(2).sum() / weight.shape[1])


def check_subspace_overlap(model, train, q, overlap):
    """q: an orthonormal basis (d, k) of the decoder's columns; overlap: ||V_k q||_F^2 / k computed from it."""
    if getattr(getattr(model, "config", None), "kind", None) != "linear":
        return report(False, "pass the trained linear autoencoder (kind 'linear'): only its decoder is one matrix")
    weight = model.decoder[0].weight.detach().cpu().double()  # (d, k)
    d, k = weight.shape
    if not isinstance(q, torch.Tensor) or tuple(q.shape) != (d, k):
        got = tuple(q.shape) if isinstance(q, torch.Tensor) else type(q).__name__
        return report(False, f"q should be a tensor of shape ({d}, {k}), one column per code unit, got {got}")
    q = q.detach().cpu().double()
    if float((q.T @ q - torch.eye(k, dtype=q.dtype)).abs().max()) > 1e-4:
        return report(False, "the columns of q are not orthonormal (q.T @ q should be the identity): scaling each "
                             "column to length 1 is not enough, use torch.linalg.qr on the decoder weight")
    if float((weight - q @ (q.T @ weight)).norm() / weight.norm()) > 1e-4:
        return report(False, "q is orthonormal but does not span the decoder's columns: orthonormalise "
                             "model.decoder[0].weight itself")
    value = _number(overlap)
    if value is None:
        return report(False, f"overlap should be one number between 0 and 1, got {type(overlap).__name__}")
    # the check's own answer from the student's q; 1e-4 separates a typed 1.0 from a measured 0.999
    truth = float((_principal_directions(train, k) @ q).pow(2).sum() / k)
    if value == 1.0 or abs(value - truth) > 1e-4:
        if value > 1.0 + 1e-6:
            return report(False, "the overlap cannot exceed 1: divide ||V_k q||_F^2 by k")
        return report(False, "compute the overlap from your q: take the top-k right-singular vectors V_k (k, d) of the "
                             "centred training images and divide ||V_k q||_F^2 by k (a typed 1.0 is not a measurement)")
    return report(True, "", f"overlap {truth:.4f}: the same subspace as PCA, even though the decoder's columns are not "
                            "the principal axes")


# Capacity, read correctly: a multiple choice. Each wrong choice gets a hint that points at the measurement.
CAPACITY_CHOICES = {
    "a": "the widest network overfits, so it generalises worst: the best hidden width here is the narrowest one",
    "b": "the widest network is the best on unseen digits too, but a growing share of what it fits on the training "
         "set does not carry over to them",
    "c": "train and test error fall together, so capacity does not matter on this dataset",
}
CAPACITY_HINTS = {
    "a": "look at the test MSE column alone: does it rise or fall as the network widens?",
    "c": "look at the test/train ratio: do the two errors fall by the same factor?",
}


def check_capacity_question(answer):
    """answer: 'a', 'b' or 'c' (see CAPACITY_CHOICES)."""
    return multiple_choice(answer, CAPACITY_CHOICES, "b", "a growing generalisation gap is a warning sign, not yet a worse model", CAPACITY_HINTS)


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
