"""fit() you can trust: data checked up front, no lost weights, clean interrupts, the model back where it was.

Weights are compared exactly (torch.equal) with states recorded by a callback, so any restore that is
one step off, or none at all, fails.
"""
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import aeteach as ae
from aeteach import train as train_module


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def finite(model):
    return all(torch.isfinite(v).all() for v in model.state_dict().values())


class Recorder:
    """A callback keeping the weights after every step: states[s] is what step s + 1 computes its loss on."""

    def __init__(self, model, poison_at=None):
        self.states, self.poison_at = [weights(model)], poison_at

    def __call__(self, event, state):
        if event != "step_end":
            return
        if state.step == self.poison_at:  # a NaN in one weight, as an overflowing update would leave
            with torch.no_grad():
                next(state.model.parameters()).view(-1)[0] = float("nan")
        self.states.append(weights(state.model))


# ----------------------------------------------------------------------------- no lost weights

@pytest.fixture(params=["cpu", "gpu"])
def keep_path(request, monkeypatch):
    """Both ways _LastGood keeps weights: checked every step (the CPU), or by a flag read once an epoch (GPUs)."""
    monkeypatch.setattr(train_module, "SYNC_FREE", ("cpu",) if request.param == "cpu" else ())


@pytest.mark.parametrize("batch_size, poison_at", [(10_000, 3), (256, 8)])  # one step per epoch; mid-epoch
def test_divergence_restores_the_last_state_whose_loss_was_finite(digits, batch_size, poison_at, keep_path):
    train, _ = digits
    model = ae.make_model("undercomplete", train.shape, 4)
    rec = Recorder(model, poison_at)
    with pytest.raises(ae.TrainingDiverged, match=f"'recon' became nan at epoch .*, step {poison_at + 1};") as info:
        ae.fit(model, train, epochs=20, batch_size=batch_size, callbacks=[rec], progress=False)
    # step poison_at + 1 saw the NaN; the last finite loss was step poison_at's, computed on states[poison_at - 1]
    assert same(weights(model), rec.states[poison_at - 1])
    history = info.value.history
    assert history.stopped == "diverged" and len(history.steps["recon"]) == poison_at


def test_one_bad_step_mid_epoch_is_enough(digits, keep_path):
    # step 8's loss is inf but its gradient finite, so later steps are finite again: the kept state must not move on
    train, _ = digits
    model = ae.make_model("undercomplete", train.shape, 4)
    real, calls = model.loss_terms, []

    def inf_once(x, y=None, generator=None):
        terms = real(x, y, generator)
        calls.append(1)
        return {t: v + float("inf") for t, v in terms.items()} if len(calls) == 8 else terms

    model.loss_terms = inf_once
    rec = Recorder(model)
    with pytest.raises(ae.TrainingDiverged, match="'recon' became inf at epoch 2, step 8;"):
        ae.fit(model, train, epochs=3, batch_size=256, callbacks=[rec], progress=False)
    assert same(weights(model), rec.states[6])


def test_a_weight_that_overflows_while_the_loss_stays_finite(digits, keep_path):
    # sigmoid(inf) = 1: a sparse-KL code unit with an infinite bias gives finite losses (and zero gradient) forever
    train, _ = digits
    model = ae.make_model("sparse_kl", train.shape, 8)
    bias = model.encoder[1][-1].bias

    def overflow(event, state):
        rec(event, state)
        if event == "step_end" and state.step == 4:
            with torch.no_grad():
                bias[0] = float("inf")
            rec.states[-1] = weights(model)

    rec = Recorder(model)
    with pytest.raises(ae.TrainingDiverged, match="a weight became NaN or inf at epoch 1, step 5;") as info:
        ae.fit(model, train, epochs=3, batch_size=256, callbacks=[overflow], progress=False)
    assert same(weights(model), rec.states[3]) and len(info.value.history.steps["recon"]) == 4


def test_an_update_that_overflows_is_undone_even_as_the_last_step(digits, keep_path):
    train, _ = digits
    model = ae.make_model("linear", train.shape, 4)
    start = weights(model)
    with pytest.raises(ae.TrainingDiverged, match="after the last update loss term 'recon' became inf"):
        ae.fit(model, train, epochs=1, lr=1e30, batch_size=len(train), progress=False)  # weights 1e30, outputs inf
    assert same(weights(model), start)
    assert torch.isfinite(model(train.x)).all()


def test_a_torch_error_after_divergence_is_reported_as_divergence_with_history(digits, keep_path):
    train, _ = digits
    model = ae.make_model("undercomplete", train.shape, 4)

    def probability_bce(x, y=None, generator=None):  # F.binary_cross_entropy refuses NaN inputs with a RuntimeError
        recon = F.binary_cross_entropy(model(x), x)
        return {"recon": recon, "total": recon}

    model.loss_terms = probability_bce
    rec = Recorder(model, poison_at=2)
    with pytest.raises(ae.TrainingDiverged, match="then torch raised RuntimeError") as info:
        ae.fit(model, train, epochs=5, batch_size=256, callbacks=[rec], progress=False)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert same(weights(model), rec.states[1]) and len(info.value.history.steps["recon"]) == 2


def test_other_errors_propagate_with_the_last_good_weights(digits, keep_path):
    train, _ = digits
    model = ae.make_model("undercomplete", train.shape, 4)
    rec = Recorder(model)

    def fail_at_three(event, state):
        rec(event, state)
        if state.step == 3:
            raise ZeroDivisionError("a bug in a callback")

    with pytest.raises(ZeroDivisionError):
        ae.fit(model, train, epochs=5, batch_size=256, callbacks=[fail_at_three], progress=False)
    assert same(weights(model), rec.states[2])  # step 3's update has no loss yet: the model keeps what step 3 saw


def test_interrupt_keeps_the_last_state_whose_loss_was_finite(digits, keep_path):
    train, _ = digits
    model = ae.make_model("undercomplete", train.shape, 4)
    rec = Recorder(model)

    def interrupt(event, state):
        rec(event, state)
        if state.step == 30:
            raise KeyboardInterrupt

    history = ae.fit(model, train, epochs=50, batch_size=128, callbacks=[interrupt], progress=False)
    assert history.stopped == "interrupted" and history.epochs == 2 and not model.training
    assert same(weights(model), rec.states[29]) and len(history.steps["recon"]) == 30


def test_interrupt_while_fit_sets_up_ends_cleanly(digits, monkeypatch):
    train, _ = digits
    model = ae.make_model("undercomplete", train.shape, 4)
    start = weights(model)

    def interrupted(*args, **kwargs):  # a Ctrl-C while the optimizer is built (once seconds of torch._dynamo import)
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "Adam", interrupted)
    history = ae.fit(model, train, epochs=3, progress=False)
    assert history.stopped == "interrupted" and history.epochs == 0 and same(weights(model), start)
    monkeypatch.undo()
    assert ae.fit(model, train, epochs=1, progress=False).stopped == "epochs"  # and the next fit works


def test_first_fit_and_jacobian_import_neither_dynamo_nor_sympy():
    # torch.optim's constructors import torch._dynamo and sympy (about a second); fit must not pay that
    code = ("import sys, aeteach as ae\n"
            "t = ae.load_dataset('digits')\n"
            "model = ae.make_model('vae', t.shape, 2)\n"
            "ae.fit(model, t, epochs=1, progress=False)\n"
            "ae.metrics.jacobian_norm(model, t.x[:40])\n"  # torch.func.jacrev would import both too
            "deep = ae.make_model('contractive', t.shape, 4, hidden=(16,))\n"  # its penalty needs the Jacobian
            "ae.fit(deep, t, epochs=1, progress=False)\n"
            "print(sorted(m for m in ('torch._dynamo', 'sympy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_adam_matches_torch_adam():
    g = torch.Generator().manual_seed(0)
    a = [torch.randn(5, 3, generator=g, requires_grad=True), torch.randn(3, generator=g, requires_grad=True)]
    b = [p.detach().clone().requires_grad_() for p in a]
    ours, ref = train_module.Adam(a, lr=1e-2, betas=(0.9, 0.99)), torch.optim.Adam(b, lr=1e-2, betas=(0.9, 0.99), foreach=False)
    for _ in range(20):
        target = torch.randn(5, 3, generator=g)
        for params, opt in ((a, ours), (b, ref)):
            opt.zero_grad()
            ((params[0] * params[1] - target) ** 2).sum().backward()
            opt.step()
    for p, q in zip(a, b):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- the device

def test_the_model_goes_back_to_the_device_it_was_on(digits):
    train, _ = digits
    model = ae.make_model("undercomplete", train.shape, 4)
    moves = []
    real_to = model.to

    def to(device, *args, **kwargs):
        moves.append((torch.device(device), len(rec_steps)))
        return real_to(device, *args, **kwargs)

    rec_steps = []
    model.to = to
    history = ae.fit(model, train, epochs=2, device="cpu", progress=False,
                     callbacks=[lambda event, state: rec_steps.append(state.step) if event == "step_end" else None])
    # on this CPU machine both are the CPU, so what is checked is that the move home comes after training
    assert moves[0] == (torch.device("cpu"), 0) and moves[-1] == (torch.device("cpu"), len(rec_steps))
    assert history.device == "cpu" and next(model.parameters()).device == torch.device("cpu")


# ----------------------------------------------------------------------------- data checked up front

def never(event, state):
    raise AssertionError("training started")


@pytest.mark.parametrize("data, test, message", [
    (torch.rand(10, 3, 8, 8), None, r"data holds images of shape \(C, H, W\) = \(3, 8, 8\), but the model takes \(1, 8, 8\)"),
    (torch.rand(10, 1, 16, 16), None, r"data holds images of shape \(C, H, W\) = \(1, 16, 16\), but the model takes \(1, 8, 8\)"),
    (torch.rand(0, 1, 8, 8), None, r"data is empty: shape \(0, 1, 8, 8\)"),
    (torch.rand(10, 64), None, r"data must be images \(N, C, H, W\), got shape \(10, 64\)"),
    (torch.full((10, 1, 8, 8), float("nan")), None, "data holds 640 NaN or inf values"),
    (torch.rand(10, 1, 8, 8), torch.rand(5, 1, 7, 7), r"test holds images of shape \(C, H, W\) = \(1, 7, 7\), but the model takes \(1, 8, 8\)"),
    (torch.rand(10, 1, 8, 8), "shapes", r"test holds images of shape \(C, H, W\) = \(1, 32, 32\)"),
    (torch.randint(0, 2, (10, 1, 8, 8)), None, "floating-point pixels"),
])
def test_data_that_does_not_fit_the_model_is_refused_before_training(data, test, message):
    model = ae.make_model("undercomplete", (1, 8, 8), 4)
    start = weights(model)
    with pytest.raises(ValueError, match=message):
        ae.fit(model, data, test, epochs=1, callbacks=[never], progress=False)
    assert same(weights(model), start)
    if test is None:
        with pytest.raises(ValueError, match=message):
            ae.evaluate(model, data)


def test_masks_must_match_the_images():
    model = ae.make_model("segmentation", (1, 8, 8), 4)
    images = torch.rand(6, 1, 8, 8)
    for y, message in [(torch.zeros(6, 4, 4, dtype=torch.long), r"data.y must be masks of shape \(6, 8, 8\) .* got \(6, 4, 4\)"),
                       (torch.zeros(5, 8, 8, dtype=torch.long), r"got \(5, 8, 8\)"),
                       (torch.full((6, 8, 8), 4), r"values must be class numbers in \[0, 3\]")]:
        with pytest.raises(ValueError, match=message):
            ae.fit(model, ae.Dataset(images, y, "mine"), epochs=1, callbacks=[never], progress=False)
    ok = ae.Dataset(images, torch.zeros(6, 8, 8, dtype=torch.long), "mine")
    with pytest.raises(ValueError, match=r"test.y must be masks of shape \(6, 8, 8\)"):
        ae.fit(model, ok, ae.Dataset(images, torch.zeros(6, 8, 9, dtype=torch.long), "t"), epochs=1, callbacks=[never], progress=False)
    with pytest.raises(ValueError, match="pass as test a Dataset whose y holds them"):
        ae.fit(model, ok, images, epochs=1, callbacks=[never], progress=False)


def test_float64_data_trains_exactly_as_float32(digits):
    train, test = digits
    runs = []
    for x, xt in ((train.x, test.x), (torch.from_numpy(train.x.double().numpy()), test.x.double().numpy())):
        model = ae.make_model("undercomplete", train.shape, 4)
        runs.append(ae.fit(model, x, xt, epochs=2, device="cpu", progress=False))
        assert next(model.parameters()).dtype == torch.float32
    assert runs[0].steps == runs[1].steps and runs[0].test == runs[1].test


@pytest.mark.parametrize("kwargs, message", [
    (dict(epochs=True), "epochs must be a whole number >= 1, got True"),
    (dict(batch_size=True), "batch_size must be a whole number >= 1, got True"),
    (dict(lr=True), "lr must be a finite number > 0, got True"),
    (dict(time_budget=True), "time_budget must be a finite number > 0, got True"),
    (dict(seed=1.5), "seed must be a whole number"),
    (dict(max_epochs=0), "max_epochs must be a whole number >= 1"),
    (dict(epochs=2.0), "epochs must be a whole number >= 1, got 2.0"),
])
def test_bools_are_not_numbers(digits, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ae.fit(ae.make_model("undercomplete", digits[0].shape, 4), digits[0], callbacks=[never], progress=False, **kwargs)


def test_numpy_numbers_are_numbers(digits):
    train, _ = digits
    history = ae.fit(ae.make_model("undercomplete", train.shape, 4), train, epochs=np.int64(2), batch_size=np.int32(500),
                     lr=np.float32(1e-2), seed=np.int64(3), progress=False)
    assert history.epochs == 2 and len(history.steps["recon"]) == 6 and history.stopped == "epochs"
    assert ae.evaluate(ae.make_model("undercomplete", train.shape, 4), train, batch_size=np.int64(100))["recon"] > 0
