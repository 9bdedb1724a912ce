"""The notebook 09 checks: the solutions pass, typical mistakes get a hint."""
import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

import aeteach as ae
from aeteach import inference, metrics
from aeteach.exercises import compare as ex


@pytest.fixture(scope="module")
def models(digits):
    train, _ = digits
    out = {}
    for kind in ("undercomplete", "contractive", "vae"):
        out[kind] = ae.make_model(kind, train.shape, 8, seed=0)
        ae.fit(out[kind], train, epochs=10, progress=False)
    return out


def test_pca_noisy_psnr_solution_passes_and_mistakes_get_hints(digits, capsys):
    train, test = digits
    pca = PCA(n_components=8).fit(train.x.flatten(1).numpy())
    noisy = ae.corrupt(test.x, "gaussian", 0.3, generator=torch.Generator().manual_seed(0))
    back = pca.inverse_transform(pca.transform(noisy.flatten(1).numpy())).clip(0, 1)
    answer = metrics.psnr(test.x, torch.as_tensor(back, dtype=torch.float32).reshape(test.x.shape))
    assert ex.check_pca_noisy_psnr(answer, train.x, test.x)
    assert ex.check_pca_noisy_psnr(np.float32(answer), train.x, test.x)
    assert not ex.check_pca_noisy_psnr(metrics.psnr(test.x, noisy), train.x, test.x)
    assert "noisy input itself" in capsys.readouterr().out
    assert not ex.check_pca_noisy_psnr(answer + 3, train.x, test.x)
    assert "CLEAN training images" in capsys.readouterr().out
    assert not ex.check_pca_noisy_psnr([answer], train.x, test.x)
    assert "one number" in capsys.readouterr().out


def _ranked(models, score):
    values = {kind: score(m) for kind, m in models.items()}
    return sorted(values, key=values.get), values


def test_blurriest_is_recomputed(digits, models, capsys):
    _, test = digits
    blur = lambda m: metrics.laplacian_variance(torch.as_tensor(inference.reconstruct(m, test.x)[1]).unsqueeze(1))
    order, values = _ranked(models, blur)
    assert values[order[-1]] > 1.05 * values[order[0]]  # the fixture's kinds really differ
    assert ex.check_blurriest(order[0], models, test.x)
    assert not ex.check_blurriest(order[-1], models, test.x)
    assert "rather than trusting" in capsys.readouterr().out
    assert not ex.check_blurriest("topk", models, test.x)
    assert "one of the kinds" in capsys.readouterr().out
    assert not ex.check_blurriest("vae", [models["vae"]], test.x)
    assert "dict of trained models" in capsys.readouterr().out


def test_most_stable_is_recomputed(digits, models, capsys):
    _, test = digits
    order, values = _ranked(models, lambda m: metrics.latent_sensitivity(m, test.x))
    assert values[order[-1]] > 1.05 * values[order[0]]
    assert ex.check_most_stable(order[0], models, test.x)
    assert not ex.check_most_stable(order[-1], models, test.x)
    assert "times as much" in capsys.readouterr().out
