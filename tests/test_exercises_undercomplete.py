"""Exercise checks of 01_undercomplete: the solutions pass, typical mistakes get a hint."""
import torch

import aeteach as ae
from aeteach.exercises import undercomplete as ex


def _pca_mse(fit_on, evaluate, k):
    a, b = fit_on.x.reshape(len(fit_on.x), -1), evaluate.x.reshape(len(evaluate.x), -1)
    mu = a.mean(0)
    _, _, vt = torch.linalg.svd(a - mu, full_matrices=False)
    recon = (b - mu) @ vt[:k].T @ vt[:k] + mu
    return ((recon - b) ** 2).mean().item()


def test_pca_mse(digits, capsys):
    train, test = digits
    assert ex.check_pca_mse(train, test, 3, _pca_mse(train, test, 3))
    assert not ex.check_pca_mse(train, test, 3, _pca_mse(train, train, 3))
    assert "training images" in capsys.readouterr().out
    assert not ex.check_pca_mse(train, test, 3, _pca_mse(train, test, 4))
    assert not ex.check_pca_mse(train, test, 3, [0.1])


def test_subspace_overlap(digits, capsys):
    train, _ = digits
    model = ae.make_model("linear", train, 4, seed=0)
    ae.fit(model, train, epochs=100, lr=3e-2, seed=0, progress=False)
    w = model.decoder[0].weight.detach()
    q, _ = torch.linalg.qr(w)
    x = train.x.reshape(len(train.x), -1)
    _, _, vt = torch.linalg.svd(x - x.mean(0), full_matrices=False)
    overlap = ((vt[:4] @ q) ** 2).sum().item() / 4
    assert 0.9 < overlap < 0.9999  # a trained linear autoencoder finds the PCA subspace, not exactly
    assert ex.check_subspace_overlap(model, train, q, overlap)
    assert "PASS" in capsys.readouterr().out
    # lazy answers: a typed 1.0, columns scaled to length 1 (not orthonormal), the raw weight, another basis
    assert not ex.check_subspace_overlap(model, train, q, 1.0)
    assert "typed 1.0" in capsys.readouterr().out
    unit = w / w.norm(dim=0)
    assert not ex.check_subspace_overlap(model, train, unit, ((vt[:4] @ unit) ** 2).sum().item() / 4)
    assert "not orthonormal" in capsys.readouterr().out
    assert not ex.check_subspace_overlap(model, train, w, ((vt[:4] @ w) ** 2).sum().item() / 4)
    assert not ex.check_subspace_overlap(model, train, vt[:4].T, 1.0)  # PCA's own basis: not the decoder's span
    assert "does not span" in capsys.readouterr().out
    assert not ex.check_subspace_overlap(model, train, q, ((vt[:4] @ q) ** 2).sum().item())  # not divided by k
    assert "cannot exceed 1" in capsys.readouterr().out
    assert not ex.check_subspace_overlap(model, train, q[:, :3], overlap)
    assert not ex.check_subspace_overlap(model, train, q, "0.99")
    assert not ex.check_subspace_overlap(ae.make_model("undercomplete", train, 4), train, q, overlap)


def test_capacity_question(capsys):
    assert ex.check_capacity_question("b")
    for wrong in ("a", "c"):
        assert not ex.check_capacity_question(wrong)
        assert "look at the" in capsys.readouterr().out
    assert not ex.check_capacity_question(2)


def test_best_constants(digits, capsys):
    train, _ = digits
    values = train.x[:, 0, 3, 4]
    grid = torch.linspace(0, 1, 1001)
    c_mse = grid[((values[:, None] - grid) ** 2).mean(0).argmin()].item()
    c_mae = grid[(values[:, None] - grid).abs().mean(0).argmin()].item()
    assert ex.check_best_constants(values, c_mse, c_mae)
    assert not ex.check_best_constants(values, c_mae, c_mse)
    assert "swapped" in capsys.readouterr().out
    assert not ex.check_best_constants(values, c_mse, c_mse)
    assert "absolute" in capsys.readouterr().out
    assert not ex.check_best_constants(values, "a", c_mae)
