"""The autoencoder family: shapes, the exact penalties, checkpoints and input validation."""
import pytest
import torch
import torch.nn.functional as F

import aeteach as ae
from aeteach import losses

SHAPE = (1, 8, 8)


@pytest.mark.parametrize("kind", [k for k in ae.KINDS if k != "segmentation"])
def test_every_kind_encodes_decodes_and_reports_named_terms(kind):
    model = ae.make_model(kind, SHAPE, 6)
    x = torch.rand(5, *SHAPE)
    h = model.encode(x)
    assert h.shape == (5, 6)
    assert model.decode(h).shape == x.shape and model(x).shape == x.shape
    terms = model.loss_terms(x)
    assert tuple(terms) == model.config.terms
    weighted = sum(model.config.weights[t] * terms[t] for t in terms if t != "total")
    assert torch.allclose(terms["total"], weighted)


def test_same_seed_same_initial_weights():
    a, b, c = (ae.make_model("vae", SHAPE, 4, seed=s) for s in (0, 0, 1))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def _jacobian_sq_norm(encode, x):
    """Reference: the full Jacobian one example at a time, then the squared Frobenius norm."""
    norms = [torch.func.jacrev(lambda xi: encode(xi[None])[0])(xi).pow(2).sum() for xi in x]
    return torch.stack(norms).mean()


@pytest.mark.parametrize("hidden", [(), (32, 16)], ids=["one-sigmoid-layer", "deep-relu"])
def test_contractive_penalty_is_squared_frobenius_norm_of_jacobian(hidden):
    model = ae.make_model("contractive", SHAPE, 5, hidden=hidden, lam=0.5)
    x = torch.rand(7, *SHAPE)
    penalty = model.loss_terms(x)["contractive"]
    assert torch.allclose(penalty, _jacobian_sq_norm(model.encode, x), rtol=1e-5)
    penalty.backward()  # the penalty must train the encoder, not be a constant
    assert model.encoder[1][0].weight.grad.abs().sum() > 0


def test_closed_form_used_only_for_one_sigmoid_layer():
    # the closed form applied to a deep encoder would differ from the true Jacobian norm
    deep = ae.make_model("contractive", SHAPE, 5, hidden=(32,))
    x = torch.rand(4, *SHAPE)
    first = deep.encoder[1][0]
    wrong = losses.contractive(deep.encode, x, sigmoid_layer=first)
    assert not torch.allclose(wrong, _jacobian_sq_norm(deep.encode, x), rtol=1e-2)


def test_vae_kl_matches_torch_distributions():
    mu, logvar = torch.randn(6, 3), torch.randn(6, 3)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    expected = torch.distributions.kl_divergence(q, p).sum(1).mean()
    assert torch.allclose(losses.kl(mu, logvar), expected, atol=1e-6)
    assert losses.kl(torch.tensor([[2.0]]), torch.zeros(1, 1)).item() == pytest.approx(2.0)


def test_vae_terms_form_an_elbo_in_nats():
    model = ae.make_model("vae", SHAPE, 3)
    x = torch.rand(4, *SHAPE)
    terms = model.loss_terms(x, generator=torch.Generator().manual_seed(0))
    # recon is summed over the 64 pixels: of the order of 64 * ln 2 for an untrained model
    assert 30 < terms["recon"].item() < 80 and terms["kl"].item() >= 0
    mu, logvar = model.posterior(x)
    assert torch.allclose(model.encode(x), mu)
    assert model.sample(9, generator=torch.Generator().manual_seed(0)).shape == (9, *SHAPE)


def test_bce_reconstruction_takes_logits_and_is_the_bernoulli_nll():
    gen = torch.Generator().manual_seed(0)
    logits, x = torch.randn(5, *SHAPE, generator=gen) * 4, torch.rand(5, *SHAPE, generator=gen)
    # the reference in float64: in float32 1 - sigmoid(l) itself loses digits for large l
    nll = F.binary_cross_entropy(torch.sigmoid(logits.double()), x.double(), reduction="none").flatten(1).sum(1).mean()
    assert losses.recon(logits, x, "bce", per_example=True).item() == pytest.approx(nll.item(), rel=1e-6)
    # where the sigmoid saturates the loss stays finite and keeps growing with the logit (probabilities would clamp)
    far = losses.recon(torch.tensor([[-40.0, 40.0]]), torch.tensor([[1.0, 0.0]]), "bce", per_example=True)
    assert far.item() == pytest.approx(80.0)


def test_vae_recon_is_the_cross_entropy_of_its_decoded_probabilities():
    model = ae.make_model("vae", SHAPE, 3, beta=0.0)
    x = torch.rand(4, *SHAPE)
    mu, _ = model.posterior(x)
    p = model.decode(mu)
    assert p.min() >= 0 and p.max() <= 1
    expected = F.binary_cross_entropy(p, x, reduction="none").flatten(1).sum(1).mean()
    assert torch.allclose(losses.recon(model._logits(mu), x, "bce", per_example=True), expected, rtol=1e-5)


@pytest.mark.parametrize("arch, keys", [
    ("mlp", ["encoder.1.0", "encoder.1.2", "decoder.0.0", "decoder.0.2"]),
    ("conv", ["encoder.0", "encoder.2", "encoder.5", "decoder.0", "decoder.3", "decoder.5"]),
])
def test_checkpoint_layout_is_unchanged(arch, keys):
    # decoders used to end in an nn.Sigmoid module; it had no weights, so older checkpoints still load
    names = list(ae.make_model("vae", SHAPE, 2, arch=arch).state_dict())
    assert names == [f"{k}.{w}" for k in keys for w in ("weight", "bias")]


def test_topk_has_exactly_k_nonzero_units():
    model = ae.make_model("topk", SHAPE, 32, k=5)
    h = model.encode(torch.rand(50, *SHAPE))
    assert ((h != 0).sum(1) == 5).all()


def test_kl_sparsity_is_zero_at_target_and_positive_elsewhere():
    assert losses.kl_sparsity(torch.full((10, 4), 0.05), 0.05).item() == pytest.approx(0, abs=1e-6)
    assert losses.kl_sparsity(torch.full((10, 4), 0.5), 0.05).item() > 1


def test_denoising_corrupts_only_inside_the_objective():
    model = ae.make_model("denoising", SHAPE, 6, noise="gaussian", noise_level=0.3)
    x = torch.rand(3, *SHAPE)
    assert torch.equal(model(x), model(x))  # inference never adds noise
    gen = lambda: torch.Generator().manual_seed(1)
    assert not torch.equal(model.corrupt_input(x, gen()), x)
    assert torch.equal(model.loss_terms(x, generator=gen())["recon"], model.loss_terms(x, generator=gen())["recon"])


@pytest.mark.parametrize("skip", [True, False])
def test_unet_segmentation_outputs_class_logits(skip):
    model = ae.make_model("segmentation", (1, 16, 16), 8, skip=skip, n_classes=4)
    x, y = torch.rand(2, 1, 16, 16), torch.randint(0, 4, (2, 16, 16))
    assert model(x).shape == (2, 4, 16, 16)
    assert model.encode(x).shape == (2, 8, 4, 4)
    assert model.loss_terms(x, y)["recon"].item() > 0
    if skip:
        with pytest.raises(ValueError, match="skip connections"):
            model.decode(model.encode(x))
    else:
        assert model.decode(model.encode(x)).shape == (2, 4, 16, 16)


def test_conv_arch_on_28x28():
    model = ae.make_model("vae", (1, 28, 28), 2, arch="conv")
    x = torch.rand(3, 1, 28, 28)
    assert model(x).shape == x.shape and model.encode(x).shape == (3, 2)


def test_checkpoint_round_trip(tmp_path):
    model = ae.make_model("sparse_kl", SHAPE, 16, rho=0.1, beta=0.3, seed=3)
    path = tmp_path / "m.pt"
    ae.save(model, path)
    loaded = ae.load(path)
    assert loaded.config == model.config
    x = torch.rand(4, *SHAPE)
    assert torch.equal(loaded(x), model(x))


def test_loading_a_foreign_file_is_a_clear_error(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an aeteach checkpoint"):
        ae.load(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not an aeteach checkpoint"):
        ae.load(tmp_path / "junk.pt")


@pytest.mark.parametrize("args, hyper, message", [
    (("wobbly", SHAPE, 4), {}, "valid kinds: linear, undercomplete"),
    (("undercomplete", SHAPE, 0), {}, "bottleneck must be a whole number >= 1"),
    (("undercomplete", SHAPE, 2.5), {}, "bottleneck must be a whole number >= 1"),
    (("sparse_l1", SHAPE, 4), {"lam": -0.1}, r"lam must be >= 0"),
    (("contractive", SHAPE, 4), {"lam": float("nan")}, r"lam must be >= 0"),
    (("sparse_kl", SHAPE, 4), {"rho": 1.5}, r"rho must be in \(0, 1\)"),
    (("vae", SHAPE, 4), {"beta": -1}, r"beta must be >= 0"),
    (("denoising", SHAPE, 4), {"noise_level": 1.5}, r"noise_level must be in \[0.0, 1.0\]"),
    (("denoising", SHAPE, 4), {"noise": "pink"}, "noise must be one of gaussian"),
    (("topk", SHAPE, 4), {"k": 9}, "k must be between 1 and the bottleneck size 4"),
    (("inpainting", SHAPE, 4), {"block": 9}, "block must be between 1 and 8"),
    (("sparse_l1", SHAPE, 4), {"lamda": 0.1}, "does not take lamda; its hyperparameters: hidden, channels, loss, lam"),
    (("undercomplete", SHAPE, 4), {"loss": "huber"}, "loss must be one of mse, mae, bce"),
    (("undercomplete", (1, 10, 10), 4, "conv"), {}, "multiples of 4"),
    (("undercomplete", SHAPE, 4, "transformer"), {}, "valid: linear, mlp, conv, unet"),
])
def test_bad_hyperparameters_say_what_is_allowed(args, hyper, message):
    with pytest.raises(ValueError, match=message):
        ae.make_model(*args, **hyper)


def test_vae_only_methods_refuse_other_kinds():
    with pytest.raises(ValueError, match="kind 'vae' only"):
        ae.make_model("undercomplete", SHAPE, 2).sample(4)
