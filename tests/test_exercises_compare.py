"""The notebook 09 checks: the solutions pass; lazy answers (numbers printed in the notebook) and mistakes get a hint."""
import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

import aeteach as ae
from aeteach import inference, metrics
from aeteach.exercises import compare as ex


@pytest.fixture(scope="module")
def trained(digits):
    train, _ = digits
    out = {}
    for name, kind, k, hyper in (("vae", "vae", 8, {}), ("small", "undercomplete", 2, {}), ("table", "undercomplete", 8, {}),
                                 ("contractive", "contractive", 8, {}), ("twin", "contractive", 8, dict(lam=0.0))):
        out[name] = ae.make_model(kind, train.shape, k, seed=0, **hyper)
        ae.fit(out[name], train, epochs=15, progress=False)
    return out


def _pca_psnr(train, test, k, seed=0):
    noisy = ae.corrupt(test.x, "gaussian", 0.3, generator=torch.Generator().manual_seed(seed))
    pca = PCA(n_components=k).fit(train.x.flatten(1).numpy())
    back = pca.inverse_transform(pca.transform(noisy.flatten(1).numpy())).clip(0, 1)
    return metrics.psnr(test.x, torch.as_tensor(back, dtype=torch.float32).reshape(test.x.shape))


def test_pca_best_k_solution_passes_and_lazy_answers_fail(digits, capsys):
    train, test = digits
    psnr_of_k = {k: _pca_psnr(train, test, k) for k in (2, 4, 8, 12, 16, 20, 24, 32, 48, 64)}
    answer = max(psnr_of_k, key=psnr_of_k.get)
    assert ex.check_pca_best_k(answer, train.x, test.x)
    assert ex.check_pca_best_k(np.int64(answer), train.x, test.x)
    assert not ex.check_pca_best_k(8, train.x, test.x)  # the table's code size, printed everywhere
    assert "code size of the table" in capsys.readouterr().out
    assert not ex.check_pca_best_k(64, train.x, test.x)  # every component: the noisy input back
    assert "noise included" in capsys.readouterr().out
    assert not ex.check_pca_best_k(2, train.x, test.x)
    assert "below the best" in capsys.readouterr().out
    assert not ex.check_pca_best_k(15.9, train.x, test.x)  # a PSNR, not a k
    assert "whole number" in capsys.readouterr().out


def test_sharpness_needs_a_new_trained_model(digits, trained, capsys):
    _, test = digits
    sharp = lambda m: metrics.laplacian_variance(torch.as_tensor(inference.reconstruct(m, test.x)[1]).unsqueeze(1))
    assert ex.check_sharpness(sharp(trained["small"]), trained["small"], test.x, trained["vae"])
    assert "than the VAE" in capsys.readouterr().out
    assert not ex.check_sharpness(sharp(trained["table"]), trained["table"], test.x, trained["vae"])  # the printed k = 8 model
    assert "choose another code size" in capsys.readouterr().out
    assert not ex.check_sharpness(sharp(trained["vae"]), trained["small"], test.x, trained["vae"])  # the VAE's number
    assert "another sharpness" in capsys.readouterr().out
    untrained = ae.make_model("undercomplete", test.shape, 2, seed=0)
    assert not ex.check_sharpness(sharp(untrained), untrained, test.x, trained["vae"])
    assert "train it first" in capsys.readouterr().out
    assert not ex.check_sharpness(sharp(trained["vae"]), trained["vae"], test.x, trained["vae"])
    assert "undercomplete" in capsys.readouterr().out


def test_contraction_ratio_recomputes_on_the_chosen_change(digits, trained, capsys):
    _, test = digits
    c, t = trained["contractive"], trained["twin"]
    ratio = lambda p, e: metrics.latent_sensitivity(c, test.x, p, e) / metrics.latent_sensitivity(t, test.x, p, e)
    assert ex.check_contraction_ratio(ratio("brightness", 0.1), c, t, test.x, "brightness", 0.1)
    assert not ex.check_contraction_ratio(ratio("gaussian", 0.05), c, t, test.x, "gaussian", 0.05)  # printed in the table
    assert "already shows" in capsys.readouterr().out
    # the printed Gaussian ratio offered for the brightness setting
    assert not ex.check_contraction_ratio(ratio("gaussian", 0.05), c, t, test.x, "brightness", 0.1)
    assert "divide the contractive one" in capsys.readouterr().out
    assert not ex.check_contraction_ratio(1 / ratio("brightness", 0.1), c, t, test.x, "brightness", 0.1)
    assert "upside down" in capsys.readouterr().out


def test_scale_question():
    assert ex.check_scale_question("b")
    assert not ex.check_scale_question("a")
    assert not ex.check_scale_question("c")
    assert not ex.check_scale_question("B")
