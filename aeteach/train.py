"""Device and precision choice, and fit(): a plain, fast training loop that reports every loss term separately."""
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from . import checks
from .data import Dataset, load_dataset

# epochs=None trains until the epoch's mean training loss stops falling (see plateaued): the best of the last
# PLATEAU_WINDOW epochs is less than PLATEAU_TOL (relative) below the best before them; at most MAX_EPOCHS.
# Measured on digits (3 seeds): a linear model stops within 0.4% of PCA at k = 3, 6, 8 (120-190 epochs) where
# 60 epochs left it 2-16% above; a window of 10 stopped k = 6 up to 1.8% short, one of 30 trained a third
# longer for no gain. The training loss, not the test loss: the test set measures the model, it never tunes it.
PLATEAU_WINDOW = 20
PLATEAU_TOL = 1e-3
MAX_EPOCHS = 1000
SYNC_FREE = ("cpu",)  # devices where reading a value back every step costs nothing (see _LastGood)
# Adam's step size by architecture: small dense models tolerate (and converge fastest with) a large one
# (conv, channels (16, 32), mnist5k: 5e-3 came within 5% of the converged MSE in 16-23 epochs at seeds 0-2, 3e-3 in 27-31;
# the old (32, 64) net at 3e-3 took 12-15 epochs, each 2.4x slower)
DEFAULT_LR = {"linear": 1e-2, "mlp": 1e-2, "conv": 5e-3, "unet": 3e-3}
# convolutional models need more (smaller) steps per epoch: with 256 a U-Net on 1000 shapes barely moves
DEFAULT_BATCH = {"linear": 256, "mlp": 256, "conv": 64, "unet": 32}


def choose_device(device="auto"):
    """'auto' picks CUDA, then Apple MPS, then the CPU; the AETEACH_DEVICE variable overrides 'auto'."""
    if device is None or device == "auto":
        device = os.environ.get("AETEACH_DEVICE", "auto")
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available here; use 'auto' or 'cpu'")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device {device!r} asked for, but Apple MPS is not available here; use 'auto' or 'cpu'")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}")
    return dev


PRECISIONS = ("bf16", "fp32")


def choose_precision(device="auto"):
    """'bf16' autocast where the GPU runs it natively (CUDA compute capability 8.0+: A100, RTX 30xx, H100 ...), else 'fp32'.

    A T4 (7.5) reports bf16 as supported but emulates it, and cuDNN has no bf16 convolutions below 8.0,
    so there, on MPS and on the CPU float32 is the faster and exact choice. The AETEACH_PRECISION
    variable ('bf16' or 'fp32') overrides; the loss terms are computed in float32 either way.
    """
    dev = choose_device(device)
    asked = os.environ.get("AETEACH_PRECISION", "")
    if asked:
        if asked not in PRECISIONS:
            raise ValueError(f"AETEACH_PRECISION must be one of {', '.join(PRECISIONS)} (or unset), got {asked!r}")
        if asked == "bf16" and dev.type not in ("cuda", "cpu"):
            raise ValueError(f"AETEACH_PRECISION=bf16 works on CUDA and the CPU; on {dev.type} unset it or use fp32")
        return asked
    if dev.type == "cuda" and torch.cuda.get_device_capability(dev) >= (8, 0):
        return "bf16"
    return "fp32"


def describe_device(device=None):
    """One line for a notebook's setup cell, e.g. 'cuda (Tesla T4, capability 7.5), precision fp32'."""
    dev = choose_device(device)
    where = str(dev)
    if dev.type == "cuda":
        major, minor = torch.cuda.get_device_capability(dev)
        where += f" ({torch.cuda.get_device_name(dev)}, capability {major}.{minor})"
    return f"{where}, precision {choose_precision(dev)}"


def _autocast(device, precision):
    # bf16 halves the memory traffic of matrix products and convolutions; the loss terms stay float32 (losses.fp32)
    return torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16" else nullcontext()




class TrainingDiverged(RuntimeError):
    """A loss term (or a weight) became NaN or inf; the model keeps its last good weights and `history` what came before."""

    def __init__(self, message, history):
        super().__init__(message)
        self.history = history


@dataclass
class History:
    """Every loss term per training step, and per epoch for train and test; why training ended."""
    terms: tuple
    steps: dict = field(default_factory=dict)    # term -> value at each training step
    train: dict = field(default_factory=dict)    # term -> mean over each epoch's steps
    test: dict = field(default_factory=dict)     # term -> value on the test set after each epoch
    seconds: list = field(default_factory=list)  # training time at the end of each epoch
    # why training ended: 'converged', 'max_epochs' (epochs=None), 'epochs' (the number asked for),
    # 'time_budget', 'stop', 'interrupted' or 'diverged'
    stopped: str = None
    converged: bool = False  # the plateau rule (see plateaued) holds for the last epochs' training loss
    precision: str = None  # 'bf16' or 'fp32': the autocast fit ran under (see choose_precision)
    device: str = None  # where fit trained; the model goes back to the device it was on before

    def __post_init__(self):
        for d in (self.steps, self.train, self.test):
            for t in self.terms:
                d.setdefault(t, [])

    @property
    def epochs(self):
        return len(self.seconds)

    def final(self, split="test"):
        """The last epoch's value of every term."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        values = getattr(self, split)
        return {t: v[-1] for t, v in values.items() if v}

    def __repr__(self):
        last = ", ".join(f"{t}={v:.4g}" for t, v in (self.final("test") or self.final("train")).items())
        where = f", {self.precision}" if self.precision else ""
        why = f" ({self.stopped})" if self.stopped else ""
        return (f"History({self.epochs} epochs{why}, {len(self.steps[self.terms[0]])} steps, "
                f"{self.seconds[-1] if self.seconds else 0:.2f}s{where}; {last})")


@dataclass
class TrainState:
    """What callbacks see. Set `stop = True` to end training after the current step."""
    model: torch.nn.Module
    history: History
    device: torch.device
    epoch: int = 0
    step: int = 0
    terms: dict = None  # this step's loss terms, as tensors on the device
    stop: bool = False

    def last(self):
        """This step's loss terms as floats."""
        return {t: float(v) for t, v in self.terms.items()}


def plateaued(losses, window=PLATEAU_WINDOW, tol=PLATEAU_TOL):
    """True when the best of the last `window` epoch losses is less than `tol` (relative) below the best before them.

    The best, not the last: Adam's epoch means wobble, and a minimum only moves when training really gains.
    """
    if len(losses) <= window:
        return False
    before, recent = min(losses[:-window]), min(losses[-window:])
    return recent > before - tol * abs(before)


def _data(model, data, name):
    """(x, y) from a Dataset, a tensor or array (N, C, H, W), or a dataset name, checked against the model.

    x becomes float32 (torch.from_numpy gives float64); y is kept only where the model learns masks.
    """
    if isinstance(data, str):
        data = load_dataset(data, "train" if name == "data" else "test")
    x, y = (data.x, data.y) if isinstance(data, Dataset) else (data, None)
    if not isinstance(x, (torch.Tensor, np.ndarray)):
        raise ValueError(f"{name} must be a Dataset, a float tensor (N, C, H, W) or a dataset name, got {type(data).__name__}")
    x = checks.images(name, x, shape=model.config.input_shape, finite=True)
    if not model.needs_target:
        return x, None
    if y is None:
        raise ValueError(f"this model learns masks: pass as {name} a Dataset whose y holds them (e.g. load_dataset('shapes'))")
    return x, checks.masks(f"{name}.y", y, (len(x), *x.shape[2:]), model.config.n_classes)


def _check_model(model):
    if not hasattr(model, "loss_terms"):
        raise ValueError(f"model must be an aeteach Autoencoder (from make_model), got {type(model).__name__}")


def _generator(device, seed):
    """A seeded generator for corruption and sampling noise on `device`, so runs repeat exactly."""
    try:
        return torch.Generator(device=device).manual_seed(seed)
    except RuntimeError:  # a backend without its own generators: fall back to the global one
        return None


def evaluate(model, data, batch_size=256, seed=0, device=None):
    """Mean of every loss term over `data`, in eval mode (the same corruption draws for the same seed)."""
    _check_model(model)
    x, y = _data(model, data, "data")
    batch_size = checks.whole("batch_size", batch_size, lo=1)
    seed = checks.whole("seed", seed)
    dev = next(model.parameters()).device if device is None else choose_device(device)
    return _mean_terms(model, x, y, batch_size, seed, dev)


def _mean_terms(model, x, y, batch_size, seed, dev):
    precision = choose_precision(dev)
    gen = _generator(dev, seed)
    was_training = model.training
    model.eval()
    sums, n = {}, 0
    # no_grad everywhere except the contractive term, whose Jacobian torch.func computes regardless
    with torch.no_grad(), _autocast(dev, precision):
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size].to(dev, non_blocking=True)
            yb = None if y is None else y[i:i + batch_size].to(dev, non_blocking=True)
            terms = model.loss_terms(xb, yb, generator=gen)
            for t, v in terms.items():
                sums[t] = sums.get(t, 0.0) + v.detach().float() * len(xb)
            n += len(xb)
    model.train(was_training)
    return {t: float(v) / n for t, v in sums.items()}


class Adam:
    """Adam (Kingma & Ba 2015) over a list of tensors: torch's fused kernel where it has one, else seven _foreach ops.

    Written out because constructing any torch.optim optimizer imports torch._dynamo and sympy (about
    a second on a session's first fit, and a Ctrl-C there left sympy half-imported). The fused kernel
    is the one torch.optim.Adam(fused=True) calls, so the numbers are the same as with it.
    """

    def __init__(self, params, lr, betas=(0.9, 0.99), eps=1e-8, fused=True):
        self.params = list(params)
        self.m = [torch.zeros_like(p) for p in self.params]  # first moment: the mean gradient
        self.v = [torch.zeros_like(p) for p in self.params]  # second moment: the mean squared gradient
        self.lr, self.betas, self.eps, self.fused = lr, betas, eps, fused
        self.t = torch.zeros((), device=self.params[0].device)  # the step count, on the device for the fused kernel

    @torch.no_grad()
    def step(self):
        live = [i for i, p in enumerate(self.params) if p.grad is not None]  # parameters this loss reached
        p, g = [self.params[i] for i in live], [self.params[i].grad for i in live]
        m, v = [self.m[i] for i in live], [self.v[i] for i in live]
        b1, b2 = self.betas
        self.t += 1
        if self.fused:
            torch._fused_adam_(p, g, m, v, [], [self.t] * len(p), lr=self.lr, beta1=b1, beta2=b2, weight_decay=0.0,
                               eps=self.eps, amsgrad=False, maximize=False)
            return
        t = float(self.t)
        torch._foreach_lerp_(m, g, 1 - b1)  # m = b1 m + (1 - b1) g
        torch._foreach_mul_(v, b2)
        torch._foreach_addcmul_(v, g, g, 1 - b2)  # v = b2 v + (1 - b2) g^2
        denom = torch._foreach_sqrt(v)  # sqrt(v / (1 - b2^t)) + eps, the bias-corrected scale
        torch._foreach_div_(denom, math.sqrt(1 - b2 ** t))
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(p, m, denom, -self.lr / (1 - b1 ** t))  # p -= lr m_hat / denom

    def zero_grad(self):
        for p in self.params:
            p.grad = None  # backward then writes fresh gradients instead of adding into old ones


class _LastGood:
    """A copy of the weights of the last step whose loss and weights were finite, taken every step.

    keep() runs before each update, when the step's loss is known, so a NaN found at the epoch's end,
    an inf after the last update, an error or Ctrl-C mid-epoch all go back exactly to the last finite
    state, even with one step per epoch. On the CPU reading a flag costs nothing, so the checked weights
    simply become the kept ones; on a GPU a read every step would stall its queue, so there the copy is
    one torch.where(all finite so far, weights, copy) on the device, and the flag is read once an epoch.
    """

    def __init__(self, model, device):
        self.tensors = [t for t in model.state_dict().values() if t.is_floating_point()]  # share the weights' storage
        self.views = [t.view(-1) for t in self.tensors]
        self.copy = torch.cat(self.views)
        self.flat = torch.empty_like(self.copy)  # reused: a fresh 100 kB tensor per step costs more than the copy
        self.sync_free = device.type in SYNC_FREE
        # ok: False from the first non-finite step on; n: steps kept. Python numbers, or tensors on the device
        self.ok = True if self.sync_free else torch.ones((), dtype=torch.bool, device=device)
        self.n = 0 if self.sync_free else torch.zeros((), dtype=torch.long, device=device)

    def keep(self, losses):
        """Keep the current weights if they and this step's loss terms (a tensor) are all finite."""
        torch.cat(self.views, out=self.flat)
        # one NaN or inf in a term or a weight makes this sum non-finite (so do weights summing past 3e38)
        finite = torch.isfinite(losses.sum() + self.flat.sum())
        if not self.sync_free:
            self.ok &= finite
            torch.where(self.ok, self.flat, self.copy, out=self.copy)
            self.n += self.ok
        elif self.ok and finite.item():
            self.flat, self.copy = self.copy, self.flat  # no copy: the checked weights become the kept ones
            self.n += 1
        else:
            self.ok = False

    def kept(self):
        """How many steps had finite losses and weights (a sync on a GPU)."""
        return int(self.n)

    def restore(self):
        for t, c in zip(self.tensors, self.copy.split([t.numel() for t in self.tensors])):
            t.copy_(c.view_as(t))


def _record(history, rows, last_good):
    """Append a (partial) epoch's step values, a list of (terms,) tensors, up to the weights last_good keeps.

    Returns (those rows as lists, None or what went wrong at the next step); two syncs. Afterwards
    history.steps ends with the loss of the kept weights.
    """
    values = torch.stack(rows).tolist() if rows else []
    good = values[:last_good.kept() - len(history.steps[history.terms[0]])]
    for t, col in zip(history.terms, zip(*good)):
        history.steps[t].extend(col)
    if len(good) == len(values):
        return good, None
    bad = values[len(good)]
    col = next((j for j, v in enumerate(bad) if not math.isfinite(v)), None)
    return good, ("a weight became NaN or inf" if col is None else f"loss term {history.terms[col]!r} became {bad[col]}")


def _weights_finite(model):
    return all(bool(torch.isfinite(t).all()) for t in model.state_dict().values() if t.is_floating_point())


@torch.no_grad()
def _final_failure(model, x, y, generator, device, precision):
    """None if the weights are finite and give finite loss terms on this batch, else what is not."""
    if not _weights_finite(model):
        return "a weight became NaN or inf"
    with _autocast(device, precision):
        terms = model.loss_terms(x, y, generator=generator)
    bad = [(t, float(v)) for t, v in terms.items() if not math.isfinite(float(v))]
    return None if not bad else f"loss term {bad[0][0]!r} became {bad[0][1]}"


def fit(model, data, test=None, epochs=None, time_budget=None, batch_size=None, lr=None,
        device="auto", seed=0, callbacks=(), stop=None, progress=True, max_epochs=MAX_EPOCHS):
    """Train `model` on `data` with Adam; returns a History of every loss term and why training ended.

    data/test: a Dataset, a tensor or array (N, C, H, W) or a dataset name (then test defaults to its test split);
    checked against the model before anything trains, and float64 becomes float32.
    epochs: None trains until converged: until the epoch training loss has plateaued (see plateaued: the best
    of the last PLATEAU_WINDOW epochs less than PLATEAU_TOL below the best before), at most max_epochs.
    A number trains exactly that many epochs. time_budget (seconds) bounds either.
    batch_size, lr: None picks DEFAULT_BATCH and DEFAULT_LR (Adam) for the model's architecture.
    callbacks: functions fn(event, state) called on 'step_end' and 'epoch_end'; state.stop = True ends training.
    stop: a threading.Event (or anything with is_set()) another thread can set to end training.
    device: where to train; afterwards the model is back on the device it was on (history.device says where it ran).
    Runs under bf16 autocast where choose_precision(device) says so (history.precision records it).
    NaN/inf in a loss term or a weight raises TrainingDiverged naming it; after fit returns or raises, the
    weights are those of the last step whose loss and weights were finite (or the final ones, if finite).
    Ctrl-C (a kernel interrupt) anywhere ends training early and leaves the model usable.
    """
    _check_model(model)
    if test is None and isinstance(data, str):
        test = data
    x, y = _data(model, data, "data")
    x_test, y_test = _data(model, test, "test") if test is not None else (None, None)
    arch = model.config.arch
    epochs = None if epochs is None else checks.whole("epochs", epochs, lo=1)
    max_epochs = checks.whole("max_epochs", max_epochs, lo=1)
    time_budget = None if time_budget is None else checks.real("time_budget", time_budget, lo=0, lo_open=True)
    batch_size = checks.whole("batch_size", DEFAULT_BATCH[arch] if batch_size is None else batch_size, lo=1)
    lr = checks.real("lr", DEFAULT_LR[arch] if lr is None else lr, lo=0, lo_open=True)
    seed = checks.whole("seed", seed)
    callbacks = list(callbacks.values()) if isinstance(callbacks, dict) else list(callbacks)
    if not all(callable(cb) for cb in callbacks):
        raise ValueError("callbacks must be functions fn(event, state)")
    dev = choose_device(device)
    home = next(model.parameters()).device
    names = model.config.terms
    history = History(terms=names, precision=choose_precision(dev), device=str(dev))
    state = TrainState(model=model, history=history, device=dev)
    last_good, rows = None, []
    bar = tqdm(total=epochs or max_epochs, disable=not progress, desc=model.config.kind, leave=False)

    def emit(event):
        for cb in callbacks:
            cb(event, state)

    def diverged(message):
        history.stopped = "diverged"
        n = len(history.steps[names[0]])
        kept = f"the weights it had at step {n}" if n else "its initial weights"
        return TrainingDiverged(f"training stopped: {message}; the model keeps {kept} (the last finite loss). "
                                f"Try a smaller lr, or a smaller weight for the term that grew.", history)

    # everything from here on is inside the try, so Ctrl-C during setup ends as cleanly as during training
    try:
        model.to(dev)
        x = x.to(dev)  # the whole dataset lives on the device: no DataLoader, no per-batch copies
        y = None if y is None else y.to(dev)
        x_test = None if x_test is None else x_test.to(dev)
        y_test = None if y_test is None else y_test.to(dev)
        # beta2 = 0.99 (as nanoGPT uses 0.95) adapts faster to the changing gradient scale of short runs
        # fused: one kernel for all parameters, where torch has it; for small models the per-step overhead is the cost
        opt = Adam(model.parameters(), lr=lr, betas=(0.9, 0.99), fused=dev.type in ("cpu", "cuda", "mps"))
        order_gen = torch.Generator().manual_seed(seed)
        noise_gen = _generator(dev, seed + 1)
        last_good = _LastGood(model, dev)
        n, t0 = len(x), time.perf_counter()
        while history.stopped is None:
            model.train()
            perm = torch.randperm(n, generator=order_gen).to(dev)
            rows = []
            for i in range(0, n, batch_size):
                idx = perm[i:i + batch_size]
                with _autocast(dev, history.precision):
                    terms = model.loss_terms(x[idx], None if y is None else y[idx], generator=noise_gen)
                rows.append(torch.stack([terms[t].detach().float() for t in names]))
                last_good.keep(rows[-1])  # these weights, before this step changes them
                opt.zero_grad()
                terms["total"].backward()
                opt.step()
                state.step += 1
                state.terms = terms
                emit("step_end")
                if state.stop or (stop is not None and stop.is_set()):
                    history.stopped = "stop"
                elif time_budget is not None and time.perf_counter() - t0 > time_budget:
                    history.stopped = "time_budget"
                if history.stopped:
                    break
            epoch_rows, rows = rows, []  # so an interrupt from here on does not record them twice
            good, bad = _record(history, epoch_rows, last_good)  # syncs once an epoch, not every step
            if bad is not None:
                raise diverged(f"{bad} at epoch {state.epoch + 1}, step {len(history.steps[names[0]]) + 1}")
            for t, col in zip(names, zip(*good)):
                history.train[t].append(sum(col) / len(col))
            if x_test is not None:
                for t, v in _mean_terms(model, x_test, y_test, 256, seed, dev).items():
                    history.test[t].append(v)
            state.epoch += 1
            history.seconds.append(time.perf_counter() - t0)
            history.converged = plateaued(history.train["total"])
            bar.update(1)
            if progress:
                bar.set_postfix({t: f"{v:.4g}" for t, v in (history.final("test") or history.final("train")).items()})
            emit("epoch_end")
            if history.stopped is None:
                if state.stop:
                    history.stopped = "stop"
                elif epochs is not None and state.epoch >= epochs:
                    history.stopped = "epochs"
                elif epochs is None and history.converged:
                    history.stopped = "converged"
                elif epochs is None and state.epoch >= max_epochs:
                    history.stopped = "max_epochs"
        # the last update's result has no loss yet: one forward on a batch decides whether to keep it
        failure = _final_failure(model, x[:batch_size], None if y is None else y[:batch_size], noise_gen, dev, history.precision)
        if failure is not None:
            raise diverged(f"after the last update {failure}")
    except KeyboardInterrupt:
        history.stopped = "interrupted"
        if last_good is not None:
            _record(history, rows, last_good)
            last_good.restore()
        print(f"training interrupted after {state.epoch} epochs ({state.step} steps); "
              f"the model keeps the weights of the last step whose loss was finite")
    except TrainingDiverged:
        if last_good is not None:
            last_good.restore()
        raise
    except Exception as err:
        # a torch error mid-training (an op that refuses NaN, say): undo the last steps, and if they had
        # diverged say so, keeping the History, rather than leave NaN weights behind a stray error
        if last_good is None:
            raise
        went_bad = not bool(last_good.ok) or not _weights_finite(model)
        _record(history, rows, last_good)
        last_good.restore()
        if went_bad:
            raise diverged(f"the weights became NaN or inf, then torch raised {type(err).__name__}: {err}") from err
        raise
    finally:
        bar.close()
        model.to(home)
        model.eval()
    return history
