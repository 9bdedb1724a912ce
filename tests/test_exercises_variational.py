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


def kl_per_dim(mu, logvar):
    return (0.5 * (mu**2 + logvar.exp() - 1 - logvar)).mean(0)


def test_active_dims_needs_the_kl_per_dimension(vae_and_test, capsys):
    vae, test = vae_and_test
    with torch.no_grad():
        mu, logvar = vae.posterior(test.x)
    truth = int((kl_per_dim(mu, logvar) > 0.1).sum())
    assert 0 < truth < 8  # the fixture really has unused dimensions, so the wrong answers below are wrong
    assert ex.check_active_dims(kl_per_dim, truth, vae, test.x)
    assert "your KL per dimension is right" in capsys.readouterr().out
    assert ex.check_active_dims(kl_per_dim, torch.tensor(truth), vae, test.x)
    capsys.readouterr()
    # the lazy answer: a threshold on |mu| (here even with the right count) is rejected by the function check
    lazy = sum(int(v) for v in (mu.abs().mean(0) > 0.1))
    assert not ex.check_active_dims(lambda m, lv: m.abs().mean(0), lazy, vae, test.x)
    assert "sigma" in capsys.readouterr().out
    assert not ex.check_active_dims(lambda m, lv: m.abs().mean(0), truth, vae, test.x)
    assert not ex.check_active_dims(lambda m, lv: 0.5 * m.pow(2).mean(0), truth, vae, test.x)  # only the mean term
    assert "sigma" in capsys.readouterr().out
    assert not ex.check_active_dims(lambda m, lv: (0.5 * (m**2 + lv.exp() - 1 - lv)).sum(0), truth, vae, test.x)
    assert "summed over the examples" in capsys.readouterr().out
    assert not ex.check_active_dims(lambda m, lv: (m**2 + lv.exp() - 1 - lv).mean(0), truth, vae, test.x)
    assert "factor 1/2" in capsys.readouterr().out
    assert not ex.check_active_dims(lambda m, lv: (0.5 * (m**2 + lv.exp() - 1 - lv)).mean(1), truth, vae, test.x)
    assert "shape (4,)" in capsys.readouterr().out
    assert not ex.check_active_dims(lambda m, lv: None, truth, vae, test.x)  # forgot to return
    assert "tensor of shape" in capsys.readouterr().out
    assert not ex.check_active_dims(truth, truth, vae, test.x)  # a number where the function belongs
    assert "function itself" in capsys.readouterr().out
    # the right function, the wrong count
    assert not ex.check_active_dims(kl_per_dim, 8, vae, test.x)
    assert "not every one" in capsys.readouterr().out
    assert not ex.check_active_dims(kl_per_dim, (truth + 1) % 8, vae, test.x)
    assert "count is not" in capsys.readouterr().out
    assert not ex.check_active_dims(kl_per_dim, 2.5, vae, test.x)
    assert "whole number" in capsys.readouterr().out
    plain = ae.make_model("undercomplete", test.shape, 8)
    assert not ex.check_active_dims(kl_per_dim, truth, plain, test.x)
    assert "posterior()" in capsys.readouterr().out


def test_blur_question(capsys):
    assert ex.check_blur_question("b") and ex.check_blur_question(" (B) ")
    assert "spreads its means" in capsys.readouterr().out
    assert not ex.check_blur_question("a")
    assert "VAE recon (mean)" in capsys.readouterr().out
    assert not ex.check_blur_question("c")
    assert "section 4" in capsys.readouterr().out
    assert not ex.check_blur_question("d")
    assert "one letter" in capsys.readouterr().out
