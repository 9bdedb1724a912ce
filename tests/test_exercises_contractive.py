"""Exercise checks of 03_contractive: the solutions pass, typical mistakes get a hint."""
import pytest
import torch

import aeteach as ae
from aeteach.exercises import contractive as ex


@pytest.fixture(scope="module")
def setup():
    test = ae.load_dataset("digits", "test")
    model = ae.make_model("contractive", test, 16, seed=0, lam=0.01)
    return test, model


def _hand_jacobian(model, x):
    w = model.encoder[1][0].weight.detach()
    with torch.no_grad():
        h = model.encode(x)
    return (h * (1 - h)).T * w  # (16, 64)


def test_jacobian(setup, capsys):
    test, model = setup
    x0 = test.x[:1]
    jac = _hand_jacobian(model, x0)
    assert ex.check_jacobian(model, x0, jac)
    assert ex.check_jacobian(model, x0, jac.reshape(16, 1, 8, 8))  # any shape with the same layout
    assert not ex.check_jacobian(model, x0, model.encoder[1][0].weight.detach())
    assert "slope" in capsys.readouterr().out
    assert not ex.check_jacobian(model, test.x[:2], jac)
    deep = ae.make_model("contractive", test, 16, hidden=(32,))
    assert not ex.check_jacobian(deep, x0, jac)


def test_penalty(setup, capsys):
    test, model = setup
    x = test.x[:20]
    w = model.encoder[1][0].weight.detach()
    with torch.no_grad():
        h = model.encode(x)
    per_image = ((h * (1 - h)) ** 2 * w.pow(2).sum(1)).sum(1)
    assert ex.check_penalty(model, x, per_image.mean().item())
    assert not ex.check_penalty(model, x, per_image.sum().item())
    assert not ex.check_penalty(model, x, per_image.sqrt().mean().item())
    assert "square" in capsys.readouterr().out
    assert not ex.check_penalty(model, x, "1")


def test_direction(setup, capsys):
    test, model = setup
    x0 = test.x[:1]
    jac = _hand_jacobian(model, x0)
    u, _, vh = torch.linalg.svd(jac, full_matrices=False)
    assert ex.check_direction(model, x0, vh[0])
    assert ex.check_direction(model, x0, -3 * vh[0].reshape(1, 1, 8, 8))  # sign and length do not matter
    assert not ex.check_direction(model, x0, vh[-1])
    assert "Vh" in capsys.readouterr().out
    assert not ex.check_direction(model, x0, u[:, 0])  # a code-space vector: wrong size
    assert not ex.check_direction(model, x0, torch.zeros(64))
