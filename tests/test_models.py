"""The autoencoder family: the kind table, shapes, the exact penalties, checkpoints and input validation."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import aeteach as ae
from aeteach import losses, models
from aeteach.models import make_config

SHAPE = (1, 8, 8)


def _size(kind):
    """A bottleneck size the kind accepts on SHAPE: 6, or just wider than the input where the code must be."""
    return 6 if kind != "overcomplete" else 70


@pytest.mark.parametrize("kind", [k for k in ae.KINDS if k != "segmentation"])
def test_every_kind_encodes_decodes_and_reports_named_terms(kind):
    model = ae.make_model(kind, SHAPE, _size(kind))
    x = torch.rand(5, *SHAPE)
    h = model.encode(x)
    assert h.shape == (5, _size(kind))
    assert model.decode(h).shape == x.shape and model(x).shape == x.shape
    terms = model.loss_terms(x)
    assert tuple(terms) == model.config.terms
    weighted = sum(model.config.weights[t] * terms[t] for t in terms if t != "total")
    assert torch.allclose(terms["total"], weighted)


def test_the_kind_table_names_only_things_that_exist():
    for name, kind in losses.VARIANTS.items():
        assert kind.code in models.CODES and kind.corrupt in (None, *models.CORRUPTIONS), name
        assert kind.output in models.OUTPUTS and set(kind.archs) <= set(models.ARCHS) and kind.ref, name
        assert set(kind.terms) <= set(losses.TERMS) and "recon" in kind.terms, name
        # a term's weight is one of the kind's own hyperparameters, so setting it reaches the loss
        assert all(w is None or w in kind.hyper for w in kind.terms.values()), name
        assert set(kind.hyper) <= set(losses.RANGES) and set(kind.ranges) <= set(losses.RANGES), name
        assert set(kind.hyper) <= set(models.CONFIG_FIELDS), name
        for arch in kind.archs:  # every default passes its own range, with every architecture
            cfg = make_config(name, (1, 8, 8), 80, arch)
            assert cfg.arch == arch and cfg.terms == (*kind.terms, "total")


def test_weights_are_read_from_the_config_at_loss_time():
    model = ae.make_model("vae", SHAPE, 3)
    x = torch.rand(4, *SHAPE)
    gen = lambda: torch.Generator().manual_seed(0)
    before = model.loss_terms(x, generator=gen())
    model.config.beta = 4.0  # e.g. a callback annealing beta
    after = model.loss_terms(x, generator=gen())
    assert model.config.weights == {"recon": 1.0, "kl": 4.0}
    assert torch.allclose(after["total"], after["recon"] + 4.0 * after["kl"])
    assert after["total"].item() == pytest.approx(before["total"].item() + 3.0 * before["kl"].item(), rel=1e-5)
    sparse = ae.make_model("sparse_l1", SHAPE, 6, lam=0.0)
    zero = sparse.loss_terms(x)
    sparse.config.lam = 0.5
    assert torch.allclose(sparse.loss_terms(x)["total"], zero["recon"] + 0.5 * zero["l1"])


def test_a_new_kind_made_of_existing_terms_is_one_entry(monkeypatch):
    entry = losses.Kind("sigmoid", {"recon": None, "l1": "lam"}, {**losses.NET, "lam": 0.1}, ref="an example")
    monkeypatch.setitem(losses.VARIANTS, "sigmoid_l1", entry)
    model = ae.make_model("sigmoid_l1", SHAPE, 6)
    x = torch.rand(5, *SHAPE)
    terms = model.loss_terms(x)
    assert tuple(terms) == ("recon", "l1", "total") and model.config.weights["l1"] == 0.1
    assert model.encode(x).min() >= 0 and model.encode(x).max() <= 1  # the sigmoid code, from the entry
    assert torch.allclose(terms["total"], terms["recon"] + 0.1 * terms["l1"])
    with pytest.raises(ValueError, match="does not take rho"):
        ae.make_model("sigmoid_l1", SHAPE, 6, rho=0.1)


def test_a_second_vae_like_kind_is_one_entry(monkeypatch):
    entry = losses.Kind("gaussian", {"recon": None, "kl": "beta"}, {**losses.NET, "loss": "bce", "beta": 4.0}, ref="beta-VAE")
    monkeypatch.setitem(losses.VARIANTS, "beta_vae", entry)
    model = ae.make_model("beta_vae", SHAPE, 3)
    x = torch.rand(4, *SHAPE)
    terms = model.loss_terms(x, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(terms["total"], terms["recon"] + 4.0 * terms["kl"])
    assert 30 < terms["recon"].item() < 80  # nats summed over the 64 pixels, as the VAE's
    mu, logvar = model.posterior(x)
    assert mu.shape == logvar.shape == (4, 3) and torch.allclose(model.encode(x), mu)
    assert model.sample(5).shape == (5, *SHAPE) and ae.metrics.elbo(model, x) < 0


def test_properties_say_what_a_kind_is():
    vae, seg = make_config("vae", SHAPE, 2), make_config("segmentation", SHAPE, 4)
    assert vae.variational and vae.code == "gaussian" and vae.reconstructs and not vae.spatial_code
    assert not seg.variational and not seg.reconstructs and seg.output == "classes" and seg.spatial_code
    assert make_config("denoising", SHAPE, 4).corruption == "noise"
    assert make_config("inpainting", SHAPE, 4).corruption == "block"
    assert make_config("undercomplete", SHAPE, 4).corruption is None
    assert make_config("linear", SHAPE, 4).output == "linear"


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
    penalty.backward()  # the penalty must train the encoder, not be a constant, and with the right gradient
    grads = [p.grad.clone() for p in model.encoder.parameters()]
    model.zero_grad()
    _jacobian_sq_norm(model.encode, x).backward()
    assert grads[0].abs().sum() > 0
    assert all(torch.allclose(g, p.grad, rtol=1e-4, atol=1e-7) for g, p in zip(grads, model.encoder.parameters()))


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
    (("wobbly", SHAPE, 4), {}, "kind must be one of linear, undercomplete"),
    (("undercomplete", SHAPE, 0), {}, "bottleneck must be a whole number >= 1"),
    (("undercomplete", SHAPE, 2.5), {}, "bottleneck must be a whole number >= 1"),
    (("undercomplete", SHAPE, True), {}, "bottleneck must be a whole number >= 1, got True"),
    (("undercomplete", (1, 8, 0), 4), {}, "input_shape must be"),
    (("sparse_l1", SHAPE, 4), {"lam": -0.1}, r"lam must be a finite number >= 0"),
    (("sparse_l1", SHAPE, 4), {"lam": True}, r"lam must be a finite number >= 0, got True"),
    (("contractive", SHAPE, 4), {"lam": float("nan")}, r"lam must be a finite number >= 0"),
    (("sparse_kl", SHAPE, 4), {"rho": 1.5}, r"rho must be a finite number > 0 and < 1"),
    (("vae", SHAPE, 4), {"beta": -1}, r"beta must be a finite number >= 0"),
    (("vae", SHAPE, 4), {"loss": "mse"}, r"loss must be one of bce, got 'mse' \(the ELBO here uses a Bernoulli decoder\)"),
    (("denoising", SHAPE, 4), {"noise_level": 1.5}, r"noise_level must be a finite number >= 0.0 and <= 1.0"),
    (("denoising", SHAPE, 4), {"noise": "pink"}, "noise must be one of gaussian"),
    (("topk", SHAPE, 4), {"k": 9}, "k must be a whole number >= 1 and <= 4, got 9"),
    (("topk", SHAPE, 8), {"k": 2.5}, "k must be a whole number >= 1 and <= 8, got 2.5"),
    (("inpainting", SHAPE, 4), {"block": 9}, "block must be a whole number >= 1 and <= 8"),
    (("inpainting", SHAPE, 4, "unet"), {"skip": 1}, "skip must be True or False, got 1"),
    (("undercomplete", SHAPE, 4), {"hidden": (16, 0)}, "each of hidden must be a whole number >= 1, got 0"),
    (("undercomplete", SHAPE, 4, "conv"), {"channels": (8,)}, "channels must be 2 whole numbers >= 1"),
    (("sparse_l1", SHAPE, 4), {"lamda": 0.1}, "does not take lamda; its hyperparameters: hidden, channels, loss, lam"),
    (("undercomplete", SHAPE, 4), {"loss": "huber"}, "loss must be one of mse, mae, bce"),
    (("undercomplete", SHAPE, 4, "transformer"), {}, "arch must be one of linear, mlp, conv, unet"),
    (("vae", SHAPE, 4, "unet"), {}, "kind 'vae' takes arch mlp or conv, got 'unet'"),
    (("overcomplete", SHAPE, 64), {}, r"bottleneck must be a whole number >= 65, got 64 \(an overcomplete code is wider"),
    (("undercomplete", SHAPE, 10**12), {}, "parameters .* over the limit of 100,000,000"),
    (("undercomplete", SHAPE, 4), {"hidden": (10**9,)}, "parameters .* over the limit"),
])
def test_bad_hyperparameters_say_what_is_allowed(args, hyper, message):
    with pytest.raises(ValueError, match=message):
        ae.make_model(*args, **hyper)


def test_numpy_numbers_are_numbers():
    model = ae.make_model("topk", np.array([1, 8, 8]), np.int64(16), k=np.int64(3), hidden=(np.int32(32),))
    assert model.config.bottleneck == 16 and type(model.config.bottleneck) is int
    assert model.config.k == 3 and model.config.hidden == (32,) and model.config.input_shape == SHAPE
    assert ae.make_model("sparse_l1", SHAPE, 4, lam=np.float32(0.5)).config.lam == 0.5


def test_an_oversized_model_is_refused_before_anything_is_allocated(monkeypatch):
    real_empty = torch.empty
    sizes = []

    def watched(*args, **kw):  # every parameter of nn.Linear and nn.Conv2d starts as torch.empty
        t = real_empty(*args, **kw)
        if t.device.type != "meta":  # counting on the meta device allocates nothing
            sizes.append(t.numel())
        return t

    monkeypatch.setattr(torch, "empty", watched)
    with pytest.raises(ValueError, match="over the limit"):
        ae.make_model("undercomplete", SHAPE, 4, hidden=(10**9,))
    assert max(sizes, default=0) < 10**6  # nothing near 64 x 10^9 floats was asked of the allocator


def test_vae_only_methods_refuse_other_kinds():
    with pytest.raises(ValueError, match=r"sample\(\) needs a Gaussian code \(kind 'vae'\); this model is 'undercomplete'"):
        ae.make_model("undercomplete", SHAPE, 2).sample(4)
    with pytest.raises(ValueError, match="posterior"):
        ae.make_model("sparse_kl", SHAPE, 2).posterior(torch.rand(2, *SHAPE))


def test_an_overcomplete_code_copies_noise_a_denoiser_removes(digits):
    train, test = digits
    noisy = ae.corrupt(test.x, "gaussian", 0.2, generator=torch.Generator().manual_seed(0))
    trained = {}
    for kind, size, hyper in [("overcomplete", 128, {}), ("denoising", 128, {"noise_level": 0.2}), ("undercomplete", 8, {})]:
        trained[kind] = ae.make_model(kind, train.shape, size, **hyper)
        ae.fit(trained[kind], train, epochs=30, device="cpu", progress=False)
    mse = lambda a, b: float(((a - b) ** 2).mean())
    with torch.no_grad():
        over, den, under = (trained[k](test.x) for k in ("overcomplete", "denoising", "undercomplete"))
        over_noisy, den_noisy = trained["overcomplete"](noisy), trained["denoising"](noisy)
    assert mse(over, test.x) < 0.5 * mse(under, test.x)  # wider than the input: near-perfect reconstructions ...
    assert mse(over_noisy, noisy) < 0.7 * mse(den_noisy, noisy)  # ... because it passes its input through, noise too
    assert mse(den_noisy, test.x) < mse(over_noisy, test.x)
