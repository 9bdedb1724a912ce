"""Exercise checks of 03_contractive: the solutions pass, typical mistakes get a hint."""
import pytest
import torch

import aeteach as ae
from aeteach.exercises import contractive as ex


@pytest.fixture(scope="module")
def setup():
    test = ae.load_dataset("digits", "test")
    model = ae.make_model("contractive", test, 16, seed=0, lam=0.01)
    with torch.no_grad():  # weights large enough that each image saturates other sigmoids, as after training
        model.encoder[1][0].weight.mul_(8)
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


def _penalty(m, x):
    w = m.encoder[1][0].weight.detach()
    with torch.no_grad():
        h = m.encode(x)
    return ((h * (1 - h)) ** 2 * w.pow(2).sum(1)).sum(1).mean().item()


def test_penalty(setup, capsys):
    test, model = setup
    x = test.x[:20]
    assert ex.check_penalty(_penalty, model, x)
    assert not ex.check_penalty(lambda m, xs: _penalty(m, xs) * len(xs), model, x)
    assert "sum over the images" in capsys.readouterr().out
    assert not ex.check_penalty(lambda m, xs: _penalty(m, xs) ** 0.5, model, x)  # close to, not equal to, the norm
    assert not ex.check_penalty(lambda m, xs: _penalty(model, x), model, x)  # ignores its arguments
    assert not ex.check_penalty(lambda m, xs: _penalty(m, x), model, x)  # ignores the images
    assert not ex.check_penalty(lambda m, xs: _penalty(model, xs), model, x)  # ignores the model
    assert not ex.check_penalty(_penalty(model, x), model, x)  # a number printed earlier
    assert "function itself" in capsys.readouterr().out
    assert not ex.check_penalty(lambda m, xs: "1", model, x)
    assert not ex.check_penalty(_penalty, model, x[:2])


def _direction(m, x):
    _, _, vh = torch.linalg.svd(_hand_jacobian(m, x), full_matrices=False)
    return vh[0]


def test_direction(setup, capsys):
    test, model = setup
    x0 = test.x[:1]
    v0 = _direction(model, x0)
    assert ex.check_direction(_direction, model, x0)
    assert ex.check_direction(lambda m, x: -3 * _direction(m, x).reshape(1, 1, 8, 8), model, x0)  # sign, length free
    assert not ex.check_direction(lambda m, x: v0, model, x0)  # computed once, at x0 only
    assert not ex.check_direction(lambda m, x: torch.linalg.svd(_hand_jacobian(m, x))[2][-1], model, x0)
    assert "Vh" in capsys.readouterr().out
    assert not ex.check_direction(lambda m, x: torch.linalg.svd(_hand_jacobian(m, x))[0][:, 0], model, x0)  # code space
    assert not ex.check_direction(lambda m, x: torch.zeros(64), model, x0)
    assert not ex.check_direction(v0, model, x0)
    assert not ex.check_direction(_direction, model, test.x[:2])


def test_data_question(capsys):
    assert ex.check_data_question("b")
    assert ex.check_data_question("(B)")
    for wrong in ("a", "c"):
        assert not ex.check_data_question(wrong)
        assert "NOT YET" in capsys.readouterr().out
    assert not ex.check_data_question(2)
    assert "one letter" in capsys.readouterr().out
