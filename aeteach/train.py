"""Device and precision choice, and fit(): a plain, fast training loop that reports every loss term separately."""
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from .data import Dataset, load_dataset

DEFAULT_EPOCHS = 60
# Adam's step size by architecture: small dense models tolerate (and converge fastest with) a large one
DEFAULT_LR = {"linear": 1e-2, "mlp": 1e-2, "conv": 3e-3, "unet": 3e-3}
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
    """A loss term became NaN or inf; the model keeps its last good weights and `history` what came before."""

    def __init__(self, message, history):
        super().__init__(message)
        self.history = history


@dataclass
class History:
    """Every loss term per training step, and per epoch for train and test."""
    terms: tuple
    steps: dict = field(default_factory=dict)    # term -> value at each training step
    train: dict = field(default_factory=dict)    # term -> mean over each epoch's steps
    test: dict = field(default_factory=dict)     # term -> value on the test set after each epoch
    seconds: list = field(default_factory=list)  # training time at the end of each epoch
    stopped: str = None  # why training ended early: 'interrupted', 'time_budget', 'stop' or 'diverged'
    precision: str = None  # 'bf16' or 'fp32': the autocast fit ran under (see choose_precision)

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
        return (f"History({self.epochs} epochs, {len(self.steps[self.terms[0]])} steps, "
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


def _xy(data, name="data"):
    """(x, y) tensors from a Dataset, a tensor, or a dataset name."""
    if isinstance(data, str):
        data = load_dataset(data, "train" if name == "data" else "test")
    if isinstance(data, Dataset):
        return data.x, data.y
    if isinstance(data, torch.Tensor):
        if data.dim() != 4 or not data.is_floating_point():
            raise ValueError(f"{name} must be a float tensor (N, C, H, W), got {tuple(data.shape)} {data.dtype}")
        return data, None
    raise ValueError(f"{name} must be a Dataset, a float tensor (N, C, H, W) or a dataset name, got {type(data).__name__}")


def _generator(device, seed):
    """A seeded generator for corruption and sampling noise on `device`, so runs repeat exactly."""
    try:
        return torch.Generator(device=device).manual_seed(seed)
    except RuntimeError:  # a backend without its own generators: fall back to the global one
        return None


def evaluate(model, data, batch_size=256, seed=0, device=None):
    """Mean of every loss term over `data`, in eval mode (the same corruption draws for the same seed)."""
    x, y = _xy(data)
    dev = next(model.parameters()).device if device is None else torch.device(device)
    precision = choose_precision(dev)
    gen = _generator(dev, seed)
    was_training = model.training
    model.eval()
    sums, n = {}, 0
    # no_grad everywhere except the contractive term, whose Jacobian torch.func computes regardless
    with torch.no_grad(), _autocast(dev, precision):
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size].to(dev, non_blocking=True)
            yb = None if y is None or not model.needs_target else y[i:i + batch_size].to(dev, non_blocking=True)
            terms = model.loss_terms(xb, yb, generator=gen)
            for t, v in terms.items():
                sums[t] = sums.get(t, 0.0) + v.detach().float() * len(xb)
            n += len(xb)
    model.train(was_training)
    return {t: float(v) / n for t, v in sums.items()}


def fit(model, data, test=None, epochs=None, time_budget=None, batch_size=None, lr=None,
        device="auto", seed=0, callbacks=(), stop=None, progress=True):
    """Train `model` on `data` with Adam; returns a History of every loss term.

    data/test: a Dataset, a tensor (N, C, H, W) or a dataset name (then test defaults to its test split).
    epochs and time_budget (seconds) both bound training; with neither, DEFAULT_EPOCHS.
    batch_size, lr: None picks DEFAULT_BATCH and DEFAULT_LR (Adam) for the model's architecture.
    callbacks: functions fn(event, state) called on 'step_end' and 'epoch_end'; state.stop = True ends training.
    stop: a threading.Event (or anything with is_set()) another thread can set to end training.
    Runs under bf16 autocast where choose_precision(device) says so (history.precision records it).
    NaN/inf in a loss term raises TrainingDiverged naming the term, with the last good weights restored.
    Ctrl-C (a kernel interrupt) ends training early and leaves the model usable.
    """
    if not hasattr(model, "loss_terms"):
        raise ValueError(f"model must be an aeteach Autoencoder (from make_model), got {type(model).__name__}")
    if test is None and isinstance(data, str):
        test = data
    x, y = _xy(data)
    x_test, y_test = _xy(test, "test") if test is not None else (None, None)
    test_set = None if x_test is None else Dataset(x_test, y_test, "test")
    if model.needs_target and y is None:
        raise ValueError("this model learns masks: pass a Dataset whose y holds them (e.g. load_dataset('shapes'))")
    if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
        raise ValueError(f"epochs must be a whole number >= 1, got {epochs!r}")
    if time_budget is not None and not (time_budget > 0 and math.isfinite(time_budget)):
        raise ValueError(f"time_budget must be a positive number of seconds, got {time_budget!r}")
    if batch_size is None:
        batch_size = DEFAULT_BATCH[model.config.arch]
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
    if lr is None:
        lr = DEFAULT_LR[model.config.arch]
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    callbacks = list(callbacks.values()) if isinstance(callbacks, dict) else list(callbacks)
    if not all(callable(cb) for cb in callbacks):
        raise ValueError("callbacks must be functions fn(event, state)")
    if epochs is None:
        epochs = DEFAULT_EPOCHS if time_budget is None else 10**9

    dev = choose_device(device)
    model.to(dev)
    x = x.to(dev)  # the whole dataset lives on the device: no DataLoader, no per-batch copies
    y = y.to(dev) if (y is not None and model.needs_target) else None
    if test_set is not None:
        test_set = Dataset(x_test.to(dev), None if y_test is None else y_test.to(dev), "test")
    names = model.config.terms
    history = History(terms=names, precision=choose_precision(dev))
    state = TrainState(model=model, history=history, device=dev)
    # fused Adam updates all parameters in one kernel: for small models the per-step overhead is the cost
    # beta2 = 0.99 (as nanoGPT uses 0.95) adapts faster to the changing gradient scale of short runs
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.99), fused=dev.type in ("cpu", "cuda", "mps"))
    order_gen = torch.Generator().manual_seed(seed)
    noise_gen = _generator(dev, seed + 1)
    good = {k: v.detach().clone() for k, v in model.state_dict().items()}
    n = len(x)
    t0 = time.perf_counter()
    bar = tqdm(total=None if epochs == 10**9 else epochs, disable=not progress, desc=model.config.kind, leave=False)

    def emit(event):
        for cb in callbacks:
            cb(event, state)

    try:
        while state.epoch < epochs and history.stopped is None:
            model.train()
            perm = torch.randperm(n, generator=order_gen).to(dev)
            rows = []
            for i in range(0, n, batch_size):
                idx = perm[i:i + batch_size]
                with _autocast(dev, history.precision):
                    terms = model.loss_terms(x[idx], None if y is None else y[idx], generator=noise_gen)
                opt.zero_grad(set_to_none=True)
                terms["total"].backward()
                opt.step()
                rows.append(torch.stack([terms[t].detach().float() for t in names]))
                state.step += 1
                state.terms = terms
                emit("step_end")
                if state.stop or (stop is not None and stop.is_set()):
                    history.stopped = "stop"
                elif time_budget is not None and time.perf_counter() - t0 > time_budget:
                    history.stopped = "time_budget"
                if history.stopped:
                    break
            values = torch.stack(rows)  # (steps, terms): one device sync per epoch, not per step
            finite = torch.isfinite(values)
            if not finite.all():
                step, col = (~finite).nonzero()[0].tolist()
                model.load_state_dict(good)
                history.stopped = "diverged"
                bar.close()
                raise TrainingDiverged(
                    f"training stopped: loss term {names[col]!r} became {values[step, col].item()} at epoch {state.epoch + 1}, "
                    f"step {state.step - len(rows) + step + 1}; the model keeps the weights from the end of epoch {state.epoch} "
                    f"(the last finite losses). Try a smaller lr or a smaller weight for {names[col]!r}.", history)
            good = {k: v.detach().clone() for k, v in model.state_dict().items()}
            for t, col in zip(names, values.T.tolist()):
                history.steps[t].extend(col)
                history.train[t].append(sum(col) / len(col))
            if test_set is not None:
                for t, v in evaluate(model, test_set, seed=seed).items():
                    history.test[t].append(v)
            state.epoch += 1
            history.seconds.append(time.perf_counter() - t0)
            bar.update(1)
            if progress:
                bar.set_postfix({t: f"{v:.4g}" for t, v in (history.final("test") or history.final("train")).items()})
            emit("epoch_end")
            if state.stop and history.stopped is None:
                history.stopped = "stop"
    except KeyboardInterrupt:
        history.stopped = "interrupted"
        # a half-applied optimizer step could mix old and new weights: go back to the last epoch's
        model.load_state_dict(good)
        print(f"training interrupted after {state.epoch} epochs; the model keeps the weights from the last complete epoch")
    finally:
        bar.close()
        model.eval()
    return history
