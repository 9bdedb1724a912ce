"""Precision policy (bf16 only where the GPU runs it natively) and loss terms that are safe under autocast.

There is no GPU here, so the GPU is faked with monkeypatch, and CUDA autocast's refusal of
binary_cross_entropy is imitated under the CPU's bf16 autocast.
"""
import pytest
import torch
import torch.nn.functional as F

import aeteach as ae
from aeteach.models import ARCHS, make_config

SHAPE = (1, 8, 8)


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv("AETEACH_PRECISION", raising=False)
    monkeypatch.delenv("AETEACH_DEVICE", raising=False)
    return monkeypatch


def fake_gpu(monkeypatch, capability, name="Fake GPU"):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
    # a T4 says yes here although it only emulates bf16: the policy must not ask this
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)


@pytest.mark.parametrize("capability, name, precision", [
    ((7, 5), "Tesla T4", "fp32"),  # Colab's free GPU: bf16 emulated, no bf16 cuDNN convolutions
    ((6, 0), "Tesla P100-PCIE-16GB", "fp32"),
    ((8, 0), "NVIDIA A100-SXM4-40GB", "bf16"),
    ((9, 0), "NVIDIA H100 80GB HBM3", "bf16"),
])
def test_bf16_only_where_the_gpu_runs_it_natively(clean_env, capability, name, precision):
    fake_gpu(clean_env, capability, name)
    assert ae.choose_precision("cuda") == precision
    assert ae.choose_precision() == precision  # 'auto' picks the (fake) GPU
    major, minor = capability
    assert ae.describe_device("cuda") == f"cuda ({name}, capability {major}.{minor}), precision {precision}"


def test_cpu_and_mps_train_in_fp32(clean_env):
    assert ae.choose_precision("cpu") == "fp32"
    assert ae.describe_device("cpu") == "cpu, precision fp32"
    clean_env.setattr(torch.backends.mps, "is_available", lambda: True)
    assert ae.choose_precision("mps") == "fp32"


def test_precision_environment_variable_overrides(clean_env):
    fake_gpu(clean_env, (8, 0))
    clean_env.setenv("AETEACH_PRECISION", "fp32")
    assert ae.choose_precision("cuda") == "fp32"
    fake_gpu(clean_env, (7, 5))
    clean_env.setenv("AETEACH_PRECISION", "bf16")
    assert ae.choose_precision("cuda") == "bf16"
    assert ae.choose_precision("cpu") == "bf16"  # CPU autocast works: the loss terms run in float32


@pytest.mark.parametrize("value", ["fp16", "BF16", "float32", "auto"])
def test_bad_precision_value_lists_the_valid_ones(clean_env, value):
    clean_env.setenv("AETEACH_PRECISION", value)
    with pytest.raises(ValueError, match="AETEACH_PRECISION must be one of bf16, fp32"):
        ae.choose_precision("cpu")


def test_bf16_on_mps_is_a_clear_error(clean_env):
    clean_env.setattr(torch.backends.mps, "is_available", lambda: True)
    clean_env.setenv("AETEACH_PRECISION", "bf16")
    with pytest.raises(ValueError, match="bf16 works on CUDA and the CPU"):
        ae.choose_precision("mps")


def _autocast_on():
    try:
        return torch.is_autocast_enabled("cpu") or torch.is_autocast_enabled("cuda")
    except TypeError:  # torch < 2.4 has no device argument
        return torch.is_autocast_enabled() or torch.is_autocast_cpu_enabled()


def test_fit_records_its_precision_and_autocasts_only_for_bf16(clean_env, digits):
    train, test = digits
    for asked in ("fp32", "bf16"):
        clean_env.setenv("AETEACH_PRECISION", asked)
        model = ae.make_model("vae", train.shape, 2)
        seen = []
        step = model.loss_terms
        model.loss_terms = lambda *a, **k: seen.append(_autocast_on()) or step(*a, **k)
        history = ae.fit(model, train, test, epochs=1, progress=False, device="cpu")
        assert history.precision == asked and f", {asked};" in repr(history)
        assert set(seen) == {asked == "bf16"}  # training steps and evaluation alike
        assert all(v[-1] == v[-1] and abs(v[-1]) < float("inf") for v in history.test.values())
    clean_env.delenv("AETEACH_PRECISION")
    assert ae.fit(ae.make_model("undercomplete", train.shape, 2), train, epochs=1, progress=False, device="cpu").precision == "fp32"


def _refuse_under_autocast(real):
    """`real`, but raising as CUDA's autocast does for ops it bans (it refuses them whatever the dtype)."""
    def banned(*args, **kwargs):
        if _autocast_on():
            raise RuntimeError(f"torch.nn.functional.{real.__name__} and torch.nn.BCELoss are unsafe to autocast "
                               "(imitating CUDA autocast on the CPU)")
        return real(*args, **kwargs)
    return banned


def _valid(kind, arch, **hyper):
    try:
        make_config(kind, SHAPE, 4, arch, **hyper)
        return True
    except ValueError:
        return False


# every kind with every architecture it accepts, and the reconstruction loss 'bce' outside the VAE too
CASES = [(kind, arch, {}) for kind in ae.KINDS for arch in ARCHS if _valid(kind, arch)]
CASES += [("undercomplete", arch, {"loss": "bce"}) for arch in ("mlp", "conv", "unet")]
CASES += [("sparse_l1", "mlp", {"loss": "mae"})]


@pytest.mark.parametrize("kind, arch, hyper", CASES, ids=[f"{k}-{a}{'-' + h['loss'] if h else ''}" for k, a, h in CASES])
def test_every_kind_trains_under_bf16_autocast(monkeypatch, kind, arch, hyper):
    monkeypatch.setattr(F, "binary_cross_entropy", _refuse_under_autocast(F.binary_cross_entropy))
    model = ae.make_model(kind, SHAPE, 4, arch=arch, **hyper)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(6, *SHAPE, generator=gen)
    y = torch.randint(0, model.config.n_classes, (6, *SHAPE[1:]), generator=gen) if model.needs_target else None
    exact = model.loss_terms(x, y, generator=torch.Generator().manual_seed(1))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        terms = model.loss_terms(x, y, generator=torch.Generator().manual_seed(1))
    assert tuple(terms) == model.config.terms
    for name, value in terms.items():
        assert value.dtype == torch.float32 and value.dim() == 0 and torch.isfinite(value), (name, value)
        # bf16 keeps 8 bits of mantissa: within a few percent of the float32 value, not bit for bit
        assert value.item() == pytest.approx(exact[name].item(), rel=0.02, abs=1e-3), name
    terms["total"].backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0
