"""The 2-D toy: points near a curve, a denoiser whose field points back to it, a contractive code tangent to it."""
import numpy as np
import pytest
import torch

import aeteach as ae
from aeteach import data, inference, plots, widgets


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def toy():
    """The notebook's toy models (04), trained as there: data, a denoiser, a contractive and a plain 1-unit code."""
    torch.set_num_threads(1)
    train = data.make_curve2d(1000)
    models = dict(denoiser=ae.make_model("denoising", train.shape, 8, hidden=(64, 64), noise_level=0.05),
                  contractive=ae.make_model("contractive", train.shape, 1, hidden=(64,), lam=0.03),
                  plain=ae.make_model("undercomplete", train.shape, 1, hidden=(64,)))
    for name, m in models.items():
        ae.fit(m, train, epochs=100, batch_size=128 if name == "denoiser" else 64, progress=False)
    return train, models


def test_the_curve_data_is_deterministic_and_near_the_curve():
    a, b = data.make_curve2d(200, seed=3), data.make_curve2d(300, seed=3)
    assert a.x.shape == (200, 1, 1, 2) and torch.equal(a.x, b.x[:200])  # the first k of n are the same for any n
    assert not torch.equal(a.x, data.make_curve2d(200, seed=4).x)
    assert not torch.equal(a.x, data.make_curve2d(200, seed=3, split="test").x)
    p = inference.points_2d(a)
    near, t = data.curve2d_nearest(p)
    assert np.linalg.norm(p - near, axis=1).mean() < 0.01 and np.abs(t - a.y.numpy()).max() < 0.02
    assert np.allclose(np.linalg.norm(data.curve2d_tangents(t), axis=1), 1)
    band = data.curve2d_band(100, 0.02, 0.1)
    d = np.linalg.norm(band - data.curve2d_nearest(band)[0], axis=1)
    assert d.min() > 0.019 and d.max() < 0.101


@pytest.mark.parametrize("call, message", [
    (lambda: data.make_curve2d(0), "n must be"),
    (lambda: data.make_curve2d(10, thickness=0.5), "thickness"),
    (lambda: data.make_curve2d(10, split="valid"), "split"),
    (lambda: data.curve2d_band(10, near=0.1, far=0.05), "near must be <= far"),
    (lambda: data.curve2d_nearest(np.zeros((4, 3))), "shape \\(M, 2\\)"),
    (lambda: data.curve2d_nearest([[0.5, np.nan]]), "finite"),
    (lambda: inference.grid2d(1), "n must be"),
])
def test_bad_toy_arguments_are_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_toy_functions_refuse_an_image_model(digits):
    model = ae.make_model("denoising", digits[0].shape, 4)
    with pytest.raises(ValueError, match="2-D points"):
        inference.denoising_field(model, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="2-D points"):
        inference.points_2d(digits[0])


def test_the_denoising_field_points_to_the_curve(toy):
    _, m = toy
    band = data.curve2d_band(400)
    assert inference.field_towards_curve(m["denoiser"], band) > 0.85  # 0.92 to 0.96 over seeds 0-2
    assert inference.field_towards_curve(m["plain"], band) < 0.8  # a plain code's field does not (0.65 to 0.70)
    field = inference.denoising_field(m["denoiser"], band)
    assert field.shape == (400, 2)


def test_the_contractive_direction_is_tangent_to_the_curve(toy):
    _, m = toy
    t = np.linspace(0.01, 0.99, 200)
    cae, plain = inference.tangent_alignment(m["contractive"], t), inference.tangent_alignment(m["plain"], t)
    assert cae > 0.8 and cae > plain + 0.1  # 0.84 to 0.87 against 0.67 to 0.72 over seeds 0-2; random is 0.64
    directions, ratio = inference.encoder_directions(m["denoiser"], data.curve2d_points(t))
    assert np.allclose(np.linalg.norm(directions, axis=1), 1) and ((0 <= ratio) & (ratio <= 1)).all()


def test_the_learned_manifold_lies_on_the_curve(toy):
    _, m = toy
    cloud = inference.learned_manifold(m["denoiser"], 30)
    assert cloud.shape == (900, 2)
    assert np.linalg.norm(cloud - data.curve2d_nearest(cloud)[0], axis=1).mean() < 0.05


def test_manifold_plot_updates_in_place(toy):
    train, m = toy
    grid = inference.grid2d(5)
    panels = [dict(title="a", manifold=grid, arrows=(grid, inference.denoising_field(m["denoiser"], grid))),
              dict(title="b", manifold=grid, segments=(grid, np.tile([[1.0, 0.0]], (25, 1))))]
    fig = plots.manifold_2d(inference.points_2d(train), panels)
    panels[0]["arrows"] = (grid, np.zeros((25, 2)))
    assert plots.manifold_2d(inference.points_2d(train), panels, fig=fig) is fig
    assert np.allclose(fig.ae["panels"][0]["arrows"].U, 0)
    assert len(fig.ae["panels"][1]["segments"].get_segments()) == 25


def test_manifold_explorer_sliders_retrain_and_update_readings(toy):
    train, m = toy
    explorer = widgets.ManifoldExplorer(m["denoiser"], m["contractive"], train, fit_options=dict(epochs=5))
    first, image = dict(explorer.readings), explorer.image.value
    assert first["sigma"] == 0.05 and first["lam"] == 0.03 and first["towards_curve"] > 0.85
    explorer.sigma.value = 0.1
    assert explorer.wait(60) and not explorer.error.value
    assert explorer.readings["sigma"] == 0.1 and explorer.readings["towards_curve"] != first["towards_curve"]
    assert explorer.readings["denoiser"].config.noise_level == 0.1 and explorer.image.value != image
    assert "sigma = 0.1: trained" in explorer.status.value
    explorer.lam.value = 0.0
    assert explorer.wait(60) and explorer.readings["contractive"].config.lam == 0.0
    assert explorer.readings["tangent"] != first["tangent"]
    explorer.sigma.value = 0.05  # cached: instant, the model given at the start
    assert explorer.readings["denoiser"] is m["denoiser"] and "cached" in explorer.status.value
    explorer.close()


def test_manifold_explorer_checks_its_arguments(toy, digits):
    train, m = toy
    with pytest.raises(ValueError, match="denoising MLP of 2-D points"):
        widgets.ManifoldExplorer(m["contractive"], m["contractive"], train)
    with pytest.raises(ValueError, match="contractive MLP of 2-D points"):
        widgets.ManifoldExplorer(m["denoiser"], m["plain"], train)
    with pytest.raises(ValueError, match="points of shape"):
        widgets.ManifoldExplorer(m["denoiser"], m["contractive"], digits[0])
    with pytest.raises(ValueError, match="grid"):
        widgets.ManifoldExplorer(m["denoiser"], m["contractive"], train, grid=1)
