"""The notebook 05 checks: the solutions pass, typical mistakes get a hint."""
import math

import pytest
import torch

import aeteach as ae
from aeteach import metrics
from aeteach.exercises import variational as ex


@pytest.fixture(scope="module")
def vae_and_test():
    train, test = ae.load_dataset("digits"), ae.load_dataset("digits", "test")
    vae = ae.make_model("vae", train.shape, 8, seed=0)
    ae.fit(vae, train, epochs=15, progress=False)
    return vae, test


def test_kl_solution_passes_and_mistakes_get_hints(capsys):
    assert ex.check_kl(lambda mu, logvar: 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1))
    assert "2.00 nats" in capsys.readouterr().out
    assert not ex.check_kl(lambda mu, logvar: (mu**2 + logvar.exp() - 1 - logvar).sum(1))  # no 1/2
    assert "factor 1/2" in capsys.readouterr().out
    assert not ex.check_kl(lambda mu, logvar: 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum())  # summed over the batch
    assert "shape (5,)" in capsys.readouterr().out
    assert not ex.check_kl(lambda mu, logvar: 0.5 * (mu**2 + logvar - 1 - logvar.exp()).sum(1))  # exp on the wrong term
    assert "mu = 2, logvar = 0" in capsys.readouterr().out
    assert not ex.check_kl(42)
    assert "function itself" in capsys.readouterr().out


def test_bits_per_dim_recomputes_the_elbo(vae_and_test, capsys):
    vae, test = vae_and_test
    nats = -metrics.elbo(vae, test.x, seed=3)  # another noise draw than the check's
    assert ex.check_bits_per_dim(nats / (64 * math.log(2)), vae, test.x)
    assert not ex.check_bits_per_dim(nats / 64, vae, test.x)
    assert "ln 2" in capsys.readouterr().out
    assert not ex.check_bits_per_dim(-nats / (64 * math.log(2)), vae, test.x)
    assert "NEGATIVE" in capsys.readouterr().out
    assert not ex.check_bits_per_dim(nats, vae, test.x)
    assert "number of pixels" in capsys.readouterr().out
    assert not ex.check_bits_per_dim("0.5", vae, test.x)


def test_active_dims_counts_from_the_model(vae_and_test, capsys):
    vae, test = vae_and_test
    with torch.no_grad():
        mu, logvar = vae.posterior(test.x)
    per_dim = (0.5 * (mu**2 + logvar.exp() - 1 - logvar)).mean(0)
    truth = int((per_dim > 0.1).sum())
    assert 0 < truth < 8  # the fixture really has unused dimensions, so the wrong answers below are wrong
    assert ex.check_active_dims(truth, vae, test.x)
    assert ex.check_active_dims(torch.tensor(truth), vae, test.x)
    assert not ex.check_active_dims(8, vae, test.x)
    assert "not every one" in capsys.readouterr().out
    assert not ex.check_active_dims(2.5, vae, test.x)
    assert "whole number" in capsys.readouterr().out
    plain = ae.make_model("undercomplete", test.shape, 8)
    assert not ex.check_active_dims(truth, plain, test.x)
    assert "posterior()" in capsys.readouterr().out
