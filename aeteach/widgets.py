"""Live explorers: ipywidgets apps that retrain or re-infer when a slider moves.

Widgets only wire controls to the engine: training is aeteach.fit, images and numbers come from
aeteach.inference, figures from aeteach.plots. Sliders that only need inference update persistent
figures at once; sliders that need training hand the job to the explorer's worker (aeteach.worker:
a background thread that a newer value cancels, or inline in the callback where updates from threads
do not reach the page, as on Colab), and finished models are cached per setting so going back is instant.
Errors inside callbacks are shown in the explorer, with their traceback, and the explorer keeps working.
Everything here runs under ipywidgets 7.7+ and 8.
"""
import base64
import html
import math
import os
import sys
import threading
import traceback
import warnings
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

import ipywidgets as W
import numpy as np
from IPython.display import display

from . import inference, plots
from .data import NOISE_RANGES, SHAPE_CLASSES
from .metrics import pca_curve
from .losses import KINDS, VARIANTS
from .models import make_config, make_model
from .train import fit
from .worker import Worker

# one label width for every control, so slider tracks line up under each other
STYLE = {"description_width": "170px"}
SLIDER = dict(style=STYLE, layout=W.Layout(width="430px"))


def _image(value=b""):
    # flex-start: inside a VBox an image would otherwise be stretched to the full width (blurry, huge)
    return W.Image(value=value, format="png", layout=W.Layout(align_self="flex-start", max_width="100%"))
PARTIAL_EVERY = 0.25  # seconds between partial results while training (drawing them costs ~50 ms)
CACHE_SIZE = 32  # trained settings an explorer keeps for instant revisits, least recently used dropped first
FIT_OPTIONS = ("epochs", "time_budget", "batch_size", "lr", "device", "seed")
_LIVE = {}  # (cell, n-th explorer of that run) -> weak reference to the explorer it made


def front_end():
    """'colab' or 'vscode' where the kernel can tell (their front ends draw no anywidget, e.g. plotly 6 figures), else None."""
    if "google.colab" in sys.modules:
        return "colab"
    if "VSCODE_PID" in os.environ:  # set in kernels that VS Code starts (plotly's own renderer choice reads it too)
        return "vscode"
    return None


def _close_all(widget):
    """Close a widget and every widget inside it, so the kernel forgets them (closing a box leaves its children)."""
    for child in getattr(widget, "children", ()):
        _close_all(child)
    widget.close()


def _cell_key():
    """Which notebook cell is running (JupyterLab, Notebook 7 and VS Code send its id; else its source), or None."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:  # not in a kernel: tests, scripts
        return None
    parent = getattr(shell, "parent_header", None) or {}
    cell = (parent.get("metadata") or {}).get("cellId")
    if cell is None:
        inputs = shell.user_ns.get("_ih") or [""]
        cell = inputs[-1]  # the cell being run is the newest input
    return cell, shell.execution_count


def _check_number(name, value, lo=0, whole=False, none_ok=False):
    """A number > lo (never a bool), whole where asked, None where allowed; else a ValueError naming it."""
    if value is None and none_ok:
        return
    ok_type = isinstance(value, int) if whole else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or not math.isfinite(value) or value <= lo:
        what = "a whole number" if whole else "a number"
        raise ValueError(f"{name} must be {what} > {lo}{' or None' if none_ok else ''}, got {value!r}")


def _fit_options(given, **defaults):
    """fit_options merged over defaults, checked before anything trains."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(FIT_OPTIONS))
    if unknown:
        raise ValueError(f"fit_options takes {', '.join(FIT_OPTIONS)}; got {', '.join(unknown)}")
    options = {**defaults, **given}
    _check_number("fit_options['epochs']", options.get("epochs"), whole=True)
    _check_number("fit_options['time_budget']", options.get("time_budget"), none_ok=True)
    _check_number("fit_options['batch_size']", options.get("batch_size"), whole=True, none_ok=True)
    _check_number("fit_options['lr']", options.get("lr"), none_ok=True)
    return options


class Explorer:
    """What every explorer does: controls -> job -> view, with a status line, an error box and `readings`.

    `readings` holds the numbers the explorer shows now (MSE, PSNR, IoU ...), for tests and scripted demos.
    Re-running the cell that made an explorer closes the one it made before, so threads and memory do not pile up.
    """

    def __init__(self, retrain=None):
        self.worker = Worker(type(self).__name__, retrain)  # validates retrain; starts no thread yet
        self.status = W.HTML()
        # errors and their tracebacks go into HTML, not an Output widget: classic Notebook 6.5 with ipywidgets 7.8
        # cannot render an Output widget, and one inside the explorer would blank all of it
        self.error = W.HTML(layout=W.Layout(max_width="900px"))
        self._draw = threading.RLock()  # one figure draw at a time: the UI thread and the worker share figures
        self.readings = {}
        self.widget = None  # subclasses build it, then call _ready()

    def _ready(self, widget):
        """The explorer is built: keep its widget, and close what this cell made on its previous run."""
        self.widget = widget
        cell = _cell_key()
        if cell is not None:
            source, run = cell
            n = sum(1 for (s, r, _) in _LIVE if (s, r) == (source, run))  # the n-th explorer of this run of the cell
            for key in [k for k in _LIVE if k[0] == source and k[2] == n and k[1] != run]:
                previous = _LIVE.pop(key)()
                if previous is not None:
                    previous.close()
            _LIVE[(source, run, n)] = weakref.ref(self)

    def show(self):
        """Display the explorer (a notebook cell can also just end with the explorer)."""
        display(self.widget)

    # ipywidgets 7 widgets display through _ipython_display_, ipywidgets 8 ones through _repr_mimebundle_;
    # IPython prefers the first, and both hand over to the widget, so an explorer displays under either
    def _ipython_display_(self):
        display(self.widget)

    def _repr_mimebundle_(self, **kwargs):
        bundle = getattr(self.widget, "_repr_mimebundle_", None)
        if bundle is not None:
            return bundle(**kwargs)
        return {"text/plain": repr(self.widget),
                "application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0,
                                                             "model_id": self.widget.model_id}}

    def wait(self, timeout=120):
        """Wait for background training to finish (tests and scripted demos)."""
        return self.worker.wait(timeout)

    def close(self):
        """Stop any training and close the explorer's widgets (they leave the page and the kernel)."""
        self.worker.close()
        if self.widget is not None:
            _close_all(self.widget)

    def _guard(self, fn):
        """Wrap a callback so an error is shown in the explorer instead of vanishing."""
        def wrapped(*args, **kwargs):
            try:
                result = fn(*args, **kwargs)
                self.error.value = ""
                return result
            except Exception as err:  # show it, keep the explorer alive
                self._report(err)
        return wrapped

    def _report(self, err):
        msg = html.escape(f"{type(err).__name__}: {err}")
        tb = html.escape("".join(traceback.format_exception(err)))
        self.error.value = (f"<div style='color:#b00020'><b>Error:</b> {msg}</div>"
                            f"<details><summary>traceback</summary><pre style='font-size:0.85em; white-space:pre-wrap;"
                            f" max-height:16em; overflow:auto'>{tb}</pre></details>")
        self._set_status("stopped by the error below")

    def _set_status(self, text):
        self.status.value = f"<span style='font-size:0.95em'>{html.escape(text)}</span>"

    def _train(self, key, current, kind, bottleneck, hyper, on_partial, on_done):
        """The one retraining path: fit a new model for setting `key` with fit_options on the worker.

        on_partial(model, history) runs while training, only while current() == key (so a slider moved elsewhere
        never shows another setting's pictures); on_done(model, history) once it finished uncancelled.
        """
        def job(stop):
            model = make_model(kind, self.train.shape, bottleneck, **hyper)
            last = [-PARTIAL_EVERY]  # the first epoch shows at once, later ones every PARTIAL_EVERY seconds

            def partial(event, state):
                if event != "epoch_end" or state.history.seconds[-1] - last[0] < PARTIAL_EVERY:
                    return
                with self._draw:
                    if not stop.is_set() and current() == key:
                        last[0] = state.history.seconds[-1]
                        on_partial(model, state.history)

            history = fit(model, self.train, self.test, stop=stop, callbacks=[partial], progress=False, **self.fit_options)
            if stop.is_set():
                return
            model.zero_grad(set_to_none=True)  # a kept model needs no gradient buffers
            with self._draw:
                on_done(model, history)
        self.worker.submit(self._guard(job))

    def _cut_short(self, history):
        """'' for a finished run; else what a student must know: it stopped early, after how many epochs."""
        if history.stopped != "time_budget":
            return ""
        return f" (cut short by the {self.fit_options['time_budget']:g} s time budget after {history.epochs} of " \
               f"{self.fit_options['epochs']} epochs: not the converged result)"


def _require(model, who, ok, what):
    """Refuse a model the explorer cannot show, with what it needs."""
    config = getattr(model, "config", None)
    if config is None:
        raise ValueError(f"{who} needs an aeteach model (from ae.make_model), got {type(model).__name__}")
    if not ok(config):
        raise ValueError(f"{who} needs {what}; got kind {config.kind!r} with arch {config.arch!r}")


def _require_data(data, who, name="data"):
    if not hasattr(data, "x") or not hasattr(data, "shape"):
        raise ValueError(f"{who} needs {name} as an aeteach Dataset (from ae.load_dataset), got {type(data).__name__}")


class _Retraining(Explorer):
    """A slider whose every setting is a new model: train it (with partial results), keep it, show it.

    Subclasses give `_key()` (the current setting), `_model(key)` -> (kind, bottleneck, hyper), `_entry(key, model,
    history)` -> what a revisit needs (pictures and numbers), `_show(key, entry)`, `_show_partial(key, model, history)`
    and `_describe(key)`; `_after_training()` runs after each new setting.
    """

    def _request(self):
        key = self._key()
        if key in self.cache:
            # cancel the job for another setting, and wait out a partial result it may be drawing right now
            # (it checked the setting before the slider moved), so it cannot land over this one
            with self._draw:
                self.worker.cancel()
                self.cache.move_to_end(key)
                entry = self.cache[key]
                self._show(key, entry)
                self._set_status(f"{self._describe(key)}: cached{entry['note']}")
            return
        self._set_status(f"{self._describe(key)}: training ...")

        def done(model, history):
            entry = self._entry(key, model, history)
            entry.update(model=model, history=history, note=self._cut_short(history))
            self.cache[key] = entry
            while len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)
            if self._key() == key:
                self._show(key, entry)
                self._set_status(f"{self._describe(key)}: trained {history.epochs} epochs in {history.seconds[-1]:.1f} s"
                                 + entry["note"])
            self._after_training()

        kind, bottleneck, hyper = self._model(key)
        self._train(key, self._key, kind, bottleneck, hyper,
                    lambda model, history: self._show_partial(key, model, history), done)

    def _after_training(self):
        pass


# kinds whose reconstruction error is a pixel error of a vector code, so it can stand beside PCA's
BOTTLENECK_KINDS = ("linear", "undercomplete", "sparse_l1", "sparse_kl", "topk", "contractive", "denoising")


class BottleneckExplorer(_Retraining):
    """Bottleneck size slider: retrains, shows reconstructions, the loss curve and test error against k beside PCA."""

    def __init__(self, train, test, kind="undercomplete", sizes=(1, 64), start=8, n_show=8, fit_options=None,
                 retrain=None, **hyper):
        if kind not in BOTTLENECK_KINDS:
            raise ValueError(f"BottleneckExplorer compares reconstruction error with PCA: kind must be one of "
                             f"{', '.join(BOTTLENECK_KINDS)}, got {kind!r}")
        _require_data(train, "BottleneckExplorer", "train")
        _require_data(test, "BottleneckExplorer", "test")
        lo, hi = sizes
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (lo, hi, start)) or not 1 <= lo <= start <= hi:
            raise ValueError(f"need whole numbers 1 <= sizes[0] <= start <= sizes[1]; got sizes={sizes}, start={start!r}")
        self.config = make_config(kind, train.shape, start, **hyper)  # checks kind's hyperparameters now, not later
        self.fit_options = _fit_options(fit_options, epochs=60)
        super().__init__(retrain)
        d = int(np.prod(train.shape))
        self.train, self.test, self.kind, self.hyper = train, test, kind, hyper
        self.x_show = test.x[:n_show]
        self.originals = inference.images(self.x_show)
        self.cache = OrderedDict()  # k -> what a revisit needs, CACHE_SIZE at most
        self.points = {}  # k -> (test error, cut short?): every size tried stays on the curve
        self.model = None
        self.error_name = f"test {self.config.loss.upper()}"
        self.pca_ks = list(range(lo, min(hi, d, len(train)) + 1))
        self.pca = pca_curve(train.x, test.x, self.pca_ks) if self.config.loss == "mse" else None
        self.slider = W.IntSlider(value=start, min=lo, max=hi, description="bottleneck size k", continuous_update=False, **SLIDER)
        self.images, self.loss_img, self.curve_img = _image(), _image(), _image()
        self.fig_loss = self.fig_curve = None
        self.slider.observe(self._guard(lambda change: self._request()), names="value")
        self._ready(W.VBox([
            W.HTML("<b>Bottleneck explorer</b>: drag k, the size of the code h = f(x)."),
            W.HBox([self.slider, self.status]), W.HTML("top row: test images x; bottom row: reconstructions g(f(x))"),
            self.images, W.HBox([self.loss_img, self.curve_img]), self.error]))
        self._draw_curve()
        self._request()

    def _key(self):
        return self.slider.value

    def _describe(self, k):
        return f"k = {k}"

    def _model(self, k):
        return self.kind, k, self.hyper

    def _entry(self, k, model, history):
        _, recon, _ = inference.reconstruct(model, self.x_show)
        self.points[k] = (history.test["recon"][-1], history.stopped == "time_budget")
        return dict(error=history.test["recon"][-1], images=plots.png(plots.image_grid([self.originals, recon])),
                    loss=self._draw_loss(history))

    def _show_partial(self, k, model, history):
        originals, recon, _ = inference.reconstruct(model, self.x_show)
        self.images.value = plots.png(plots.image_grid([originals, recon]))
        self.loss_img.value = self._draw_loss(history)
        self._set_status(f"k = {k}: training, epoch {history.epochs} of {self.fit_options['epochs']}, "
                         f"{self.error_name} {history.test['recon'][-1]:.4f}")

    def _show(self, k, entry):
        """Show a finished model: its pictures were rendered once, so revisiting k only swaps PNGs."""
        self.model = entry["model"]
        self.images.value, self.loss_img.value = entry["images"], entry["loss"]
        self.readings = dict(k=k, test_error=entry["error"], epochs=entry["history"].epochs, cut_short=bool(entry["note"]))

    def _draw_loss(self, history):
        with self._draw:
            self.fig_loss = plots.loss_curves(history, split="epochs", fig=self.fig_loss)
            return plots.to_png(self.fig_loss)

    def _after_training(self):
        self._draw_curve()

    def _draw_curve(self):
        ks = sorted(self.points)
        done = [k for k in ks if not self.points[k][1]]
        short = [k for k in ks if self.points[k][1]]
        series = {f"{self.kind} autoencoder": (done, [self.points[k][0] for k in done])}
        if short:
            series["cut short (not converged)"] = (short, [self.points[k][0] for k in short])
        with self._draw:
            if self.pca is not None:
                self.fig_curve = plots.curves({"PCA (linear optimum)": (self.pca_ks, self.pca)}, fig=self.fig_curve)
            self.fig_curve = plots.curves(series, xlabel="bottleneck size k", ylabel=self.error_name,
                                          title="error against bottleneck size", logy=True, markers=True, fig=self.fig_curve)
            if short:
                self.fig_curve.ae["lines"]["cut short (not converged)"].set(linestyle="none", marker="x", color="grey")
            self.curve_img.value = plots.to_png(self.fig_curve)


@dataclass(frozen=True)
class Regulariser:
    """What the regulariser explorer shows for one kind: its slider, what the penalty limits, its defaults."""
    label: str        # the slider's label
    param: str        # the hyperparameter the slider sets
    range: tuple      # slider range: log10 of the value for a float, the value itself for a whole number
    start: float
    limits: str       # what the penalty limits: "active" (fraction of active units) or "jacobian" (||J||_F)
    bottleneck: int   # default code size
    fit: dict = field(default_factory=dict)  # fit options this kind needs

    @property
    def whole(self):
        return isinstance(self.start, int)


REGULARISERS = {
    "sparse_l1": Regulariser("lambda (log10)", "lam", (-6.0, -1.0), -4.0, "active", 64),
    "sparse_kl": Regulariser("beta (log10)", "beta", (-4.0, 1.0), -2.0, "active", 64),
    # one sigmoid layer (the contractive default) learns slowly with large batches: take smaller ones
    "contractive": Regulariser("lambda (log10)", "lam", (-5.0, 0.0), -2.0, "jacobian", 8, dict(batch_size=64)),
    "topk": Regulariser("k active units", "k", (1, 32), 8, "active", 64),
}
LIMITS = {"active": "active fraction", "jacobian": "Jacobian norm ||J||_F"}
RHO_RANGE = (0.01, 0.5)


class RegulariserExplorer(_Retraining):
    """Regularisation strength slider: activation histogram, active/dead units, features, Jacobian norm, trade-off."""

    def __init__(self, train, test, kind="sparse_l1", bottleneck=None, n_features=16, fit_options=None, retrain=None, **hyper):
        if kind not in REGULARISERS:
            raise ValueError(f"kind must be one of {', '.join(REGULARISERS)}, got {kind!r}")
        _require_data(train, "RegulariserExplorer", "train")
        _require_data(test, "RegulariserExplorer", "test")
        reg = self.reg = REGULARISERS[kind]
        label, self.param, (lo, hi), start, self.quantity = reg.label, reg.param, reg.range, reg.start, LIMITS[reg.limits]
        if self.param in hyper:
            raise ValueError(f"{self.param} is what the slider sets; leave it out of the explorer's arguments")
        self.bottleneck = reg.bottleneck if bottleneck is None else bottleneck
        self.has_rho = "rho" in VARIANTS[kind].hyper  # a target activation: a second slider
        if self.has_rho:
            rho = hyper.pop("rho", VARIANTS[kind].hyper["rho"])
            if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not RHO_RANGE[0] <= rho <= RHO_RANGE[1]:
                raise ValueError(f"rho must be in [{RHO_RANGE[0]}, {RHO_RANGE[1]}] (the target rho slider's range), got {rho!r}")
        probe = {self.param: min(start, self.bottleneck)} if reg.whole else {}
        make_config(kind, train.shape, self.bottleneck, **hyper, **probe)  # bottleneck and hyperparameters, checked now
        self.fit_options = _fit_options(fit_options, epochs=40, **reg.fit)
        super().__init__(retrain)
        self.train, self.test, self.kind, self.hyper = train, test, kind, hyper
        self.n_features = n_features
        self.x_eval = test.x[:300]
        self.cache, self.points, self.model = OrderedDict(), {}, None
        if reg.whole:
            self.slider = W.IntSlider(value=min(start, self.bottleneck), min=lo, max=min(hi, self.bottleneck), description=label,
                                      continuous_update=False, **SLIDER)
        else:
            self.slider = W.FloatSlider(value=start, min=lo, max=hi, step=0.25, description=label, continuous_update=False,
                                        readout_format=".2f", **SLIDER)
        self.controls = [self.slider]
        if self.has_rho:
            self.rho = W.FloatSlider(value=rho, min=RHO_RANGE[0], max=RHO_RANGE[1], step=0.01, description="target rho",
                                     continuous_update=False, **SLIDER)
            self.rho.observe(self._guard(lambda change: self._request()), names="value")
            self.controls.append(self.rho)
        self.hist_img, self.feat_img, self.trade_img = (_image() for _ in range(3))
        self.fig_hist = self.fig_trade = None
        self.numbers = W.HTML()
        self.slider.observe(self._guard(lambda change: self._request()), names="value")
        self._ready(W.VBox([
            W.HTML(f"<b>Regulariser explorer</b> ({kind}, {self.bottleneck} code units): stronger regularisation "
                   f"trades reconstruction error for a smaller {self.quantity}."),
            W.HBox([W.VBox(self.controls), self.status]), self.numbers,
            W.HBox([self.hist_img, self.trade_img]),
            W.HTML("learned features: what each code unit adds to the output, g(s e_i) - g(0) (red +, blue -)"), self.feat_img,
            self.error]))
        self._request()

    def setting(self):
        """The hyperparameters for the current slider positions."""
        value = self.slider.value if self.reg.whole else float(10 ** self.slider.value)
        s = {self.param: value}
        if self.has_rho:
            s["rho"] = self.rho.value
        return s

    def _key(self):
        return tuple(sorted(self.setting().items()))

    def _describe(self, key):
        return ", ".join(f"{k} = {v:.3g}" for k, v in key)

    def _model(self, key):
        return self.kind, self.bottleneck, {**self.hyper, **dict(key)}

    def _entry(self, key, model, history):
        """Numbers and pictures, rendered once: the cache keeps no codes or feature arrays."""
        stats = inference.code_stats(model, self.x_eval)
        feats = inference.features(model, self.x_eval, self.n_features)
        lim = float(np.abs(feats).max()) or 1.0
        with self._draw:
            self.fig_hist = plots.histogram(stats["codes"], xlabel="code activation h", title="activations on test images",
                                            fig=self.fig_hist)
            pngs = (plots.to_png(self.fig_hist), plots.png(plots.image_grid([feats], cmap="RdBu_r", vmin=-lim, vmax=lim, cell=48)))
        numbers = dict(mse=history.test["recon"][-1], active=stats["active"], dead=stats["dead"], jacobian=stats["jacobian"])
        self.points[key] = numbers
        return dict(numbers, pngs=pngs, hyper=dict(key))

    def _show_partial(self, key, model, history):
        self._set_status(f"{self._describe(key)}: training, epoch {history.epochs} of {self.fit_options['epochs']}, "
                         f"test recon {history.test['recon'][-1]:.4f}")

    def _show(self, key, s):
        self.model = s["model"]
        self.readings = dict(hyper=s["hyper"], mse=s["mse"], active=s["active"], dead=s["dead"], jacobian=s["jacobian"],
                             cut_short=bool(s["note"]))
        self.numbers.value = (f"test MSE <b>{s['mse']:.4f}</b> &nbsp; active fraction <b>{s['active']:.2f}</b> &nbsp; "
                              f"dead units <b>{s['dead']}</b> of {self.bottleneck} &nbsp; mean Jacobian norm <b>{s['jacobian']:.2f}</b>"
                              + html.escape(s["note"]))
        self.hist_img.value, self.feat_img.value = s["pngs"]

    def _after_training(self):
        entries = sorted(self.points.values(), key=lambda s: s["mse"])
        xs = [s[self.reg.limits] for s in entries]
        with self._draw:
            self.fig_trade = plots.curves({"settings tried": (xs, [s["mse"] for s in entries])},
                                          xlabel=self.quantity, ylabel="test MSE", title="trade-off (one point per setting)",
                                          markers=True, fig=self.fig_trade)
            self.fig_trade.ae["lines"]["settings tried"].set_linestyle("none")
            self.trade_img.value = plots.to_png(self.fig_trade)


class NoiseExplorer(Explorer):
    """Noise kind and level: corrupt test images and denoise them at once (inference only); retrain on demand."""

    def __init__(self, model, data, train=None, n_show=6, seed=0, fit_options=None, retrain=None):
        _require(model, "NoiseExplorer", lambda c: c.reconstructs, "a model that reconstructs images (not segmentation)")
        _require_data(data, "NoiseExplorer")
        if train is not None:
            _require_data(train, "NoiseExplorer", "train")
        self.fit_options = _fit_options(fit_options, epochs=60)
        super().__init__(retrain)
        self.model, self.data, self.train, self.test, self.seed = model, data, train, None, seed
        self.x_show = data.x[:n_show]
        cfg = model.config
        trained_on = (cfg.noise, round(cfg.noise_level, 2)) if cfg.corruption == "noise" else None
        self.cache = OrderedDict({trained_on: model} if trained_on else {})
        self.kind = W.Dropdown(options=list(NOISE_RANGES), value=cfg.noise if trained_on else "gaussian",
                               description="noise kind", style=STYLE)
        lo, hi = NOISE_RANGES[self.kind.value]
        self.level = W.FloatSlider(value=cfg.noise_level if trained_on else 0.3, min=lo, max=hi,
                                   step=0.01, description="noise level (sigma or p)", **SLIDER)
        self.retrain = W.Button(description="retrain at this level", disabled=train is None, icon="refresh",
                                layout=W.Layout(width="auto"))
        self.readout = W.HTML()
        self.images = _image()
        self.kind.observe(self._guard(lambda change: self._update()), names="value")
        self.level.observe(self._guard(lambda change: self._update()), names="value")
        self.retrain.on_click(self._guard(lambda button: self._retrain()))
        self._ready(W.VBox([
            W.HTML("<b>Noise explorer</b>: the denoiser runs on corrupted test images as you move the slider."),
            W.HBox([self.kind, self.level]), W.HBox([self.retrain, self.status]), self.readout,
            W.HTML("rows: clean, noisy, denoised"), self.images, self.error]))
        self._update()

    def _update(self):
        r = inference.denoise(self.model, self.x_show, self.kind.value, self.level.value, seed=self.seed)
        cfg = self.model.config
        trained = f"{cfg.noise} {cfg.noise_level:.2f}" if cfg.corruption == "noise" else "clean images (plain autoencoder)"
        self.readings = dict(psnr_noisy=r["psnr_noisy"], psnr_denoised=r["psnr_denoised"], trained_on=trained)
        self.readout.value = (f"PSNR noisy <b>{r['psnr_noisy']:.2f} dB</b> &rarr; denoised <b>{r['psnr_denoised']:.2f} dB</b> "
                              f"&nbsp; (model trained on {trained})")
        self.images.value = plots.png(plots.image_grid([r["clean"], r["noisy"], r["denoised"]]))

    def _key(self):
        return self.kind.value, round(self.level.value, 2)

    def _retrain(self):
        key = self._key()
        noise, level = key
        if key in self.cache:
            with self._draw:  # as in _Retraining._request: no partial result of a cancelled job lands after this
                self.worker.cancel()
                self.cache.move_to_end(key)
                self.model = self.cache[key]
                self._update()
                self._set_status(f"denoiser for {noise} {level:.2f}: cached")
            return
        self._set_status(f"training a denoiser for {noise} {level:.2f} ...")
        cfg = self.model.config
        extra = dict(hidden=cfg.hidden) if cfg.arch == "mlp" else dict(channels=cfg.channels)  # the same architecture

        def done(model, history):
            self.cache[key] = model
            while len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)
            self.model = model
            self._update()
            self._set_status(f"denoiser for {noise} {level:.2f}: trained {history.epochs} epochs in {history.seconds[-1]:.1f} s"
                             + self._cut_short(history))

        self._train(key, lambda: key, "denoising", cfg.bottleneck, dict(arch=cfg.arch, noise=noise, noise_level=level, **extra),
                    lambda model, history: self._set_status(f"training, epoch {history.epochs} of {self.fit_options['epochs']}"),
                    done)


def _choose_plotly(use_plotly):
    """The latent scatter is a matplotlib picture unless use_plotly=True asks for a plotly FigureWidget.

    The picture works in every front end and keeps saved widget state small. A FigureWidget adds hover and
    click-to-pick in JupyterLab and Notebook 7, but plotly 6 and later ship it as an anywidget that carries
    its 5 MB JavaScript bundle in the widget state, and neither VS Code nor Colab draws it today.
    """
    if use_plotly is None or use_plotly is False:
        return False
    if use_plotly is not True:
        raise ValueError(f"use_plotly must be True, False or None, got {use_plotly!r}")
    if front_end() is not None:
        warnings.warn(f"use_plotly=True: plotly FigureWidgets do not draw in {front_end()} today; "
                      "use_plotly=False shows the same scatter as a picture", stacklevel=3)
    return True


class LatentExplorer(Explorer):
    """Latent space: scatter coloured by label, traversal sliders, interpolation, and for a VAE samples and a grid.

    use_plotly=True swaps the scatter picture for a plotly FigureWidget with hover and click (see _choose_plotly).
    """

    def __init__(self, model, data, n_points=1000, n_dims=4, use_plotly=None):
        _require(model, "LatentExplorer", lambda c: c.arch != "unet", "a model with a vector code (arch linear, mlp or conv)")
        _require_data(data, "LatentExplorer")
        super().__init__()
        self.model, self.data = model, data
        self.x = data.x[:n_points]
        self.labels = None if data.y is None or data.y.dim() != 1 else data.y[:n_points].numpy()
        self.points, axes = inference.latent_2d(model, self.x)
        self.use_plotly = _choose_plotly(use_plotly)
        if self.use_plotly:
            hover = [f"example {i}" + (f", label {data.classes[l] if data.classes else l}" if self.labels is not None else "")
                     for i, l in enumerate(self.labels if self.labels is not None else range(len(self.x)))]
            self.scatter = plots.latent_scatter_plotly(self.points, self.labels, hover, *axes)
            self.scatter.data[0].on_click(self._guard(self._on_click))
            scatter_view = self.scatter
        else:
            self.fig_scatter = plots.scatter(self.points, self.labels, *axes, title="latent space")
            scatter_view = self.scatter_img = _image(plots.to_png(self.fig_scatter))
        k = model.config.bottleneck
        lo, hi = inference.code_ranges(model, self.x)
        self.example = W.BoundedIntText(value=0, min=0, max=len(self.x) - 1, description="example", layout=W.Layout(width="160px"))
        self.other = W.BoundedIntText(value=1, min=0, max=len(self.x) - 1, description="to", layout=W.Layout(width="160px"))
        self.dims = [W.FloatSlider(value=0.0, min=float(lo[i]), max=float(hi[i]), step=float(hi[i] - lo[i]) / 50 or 0.01,
                                   description=f"code unit h{i + 1}", **SLIDER) for i in range(min(n_dims, k))]
        self.traverse_img, self.interp_img = _image(), _image()
        for w in self.dims:
            w.observe(self._guard(lambda change: self._traverse()), names="value")
        self.example.observe(self._guard(lambda change: self._select()), names="value")
        self.other.observe(self._guard(lambda change: self._select()), names="value")
        parts = [W.HTML("<b>Latent space explorer</b>: each point is a test image's code; "
                        + ("click one to pick it, " if self.use_plotly else "") + "move the code units to decode new images."),
                 W.HBox([scatter_view, W.VBox([self.example, *self.dims, W.HTML("the example, and its code decoded"),
                                               self.traverse_img])]),
                 W.HBox([W.HTML("interpolate from the example"), self.other]), self.interp_img]
        if model.config.variational:  # a prior to sample from
            self.sample_button = W.Button(description="sample new images", icon="random", layout=W.Layout(width="auto"))
            self.samples_img = _image()
            self._sample_seed = 0
            self.sample_button.on_click(self._guard(lambda b: self._sample()))
            parts += [W.HBox([self.sample_button, self.status]), self.samples_img]
            if k == 2:
                grid = plots.image_grid(np.split(inference.normal_grid(model, 8), 8), cell=40, gap=1)
                self.grid_img = _image(plots.png(grid))
                parts += [W.HTML("decoded grid over standard-normal quantiles of z1 (across) and z2 (down)"), self.grid_img]
        self._ready(W.VBox(parts + [self.error]))
        self._select()
        if model.config.variational:  # a prior to sample from
            self._sample()

    def _on_click(self, trace, points, state):
        if points.point_inds:
            self.example.value = points.point_inds[0]

    def _select(self):
        h = inference.codes(self.model, self.x[self.example.value:self.example.value + 1])[0]
        for i, w in enumerate(self.dims):
            with w.hold_trait_notifications():
                w.value = float(np.clip(h[i], w.min, w.max))
        self._traverse()
        self._interpolate()
        if self.use_plotly:  # the two chosen examples stay bright, the rest dim
            with self.scatter.batch_update():
                self.scatter.data[0].selectedpoints = [self.example.value, self.other.value]
        else:
            with self._draw:
                self.fig_scatter = plots.scatter(self.points, self.labels, highlight=[self.example.value, self.other.value],
                                                 fig=self.fig_scatter)
                self.scatter_img.value = plots.to_png(self.fig_scatter)

    def _traverse(self):
        i = self.example.value
        image = inference.traverse(self.model, self.x[i:i + 1], range(len(self.dims)), [w.value for w in self.dims])
        original = inference.reconstruct(self.model, self.x[i:i + 1])[0][0]
        self.traverse_img.value = plots.png(plots.image_grid([[original, image]], cell=96))

    def _interpolate(self):
        a, b = self.example.value, self.other.value
        row = inference.interpolate(self.model, self.x[a:a + 1], self.x[b:b + 1], steps=8)
        self.interp_img.value = plots.png(plots.image_grid([row], cell=56))

    def _sample(self):
        self._sample_seed += 1
        imgs = inference.samples(self.model, 16, seed=self._sample_seed)
        self.samples_img.value = plots.png(plots.image_grid([imgs[:8], imgs[8:]], cell=56))
        self._set_status(f"16 samples from z ~ N(0, I), draw {self._sample_seed}")


class OcclusionExplorer(Explorer):
    """Block size and position sliders: the occluded input and the inpainted output update at once."""

    def __init__(self, model, data, n_show=4):
        _require(model, "OcclusionExplorer", lambda c: c.reconstructs, "a model that reconstructs images (ideally inpainting)")
        _require_data(data, "OcclusionExplorer")
        super().__init__()
        self.model, self.x_show = model, data.x[:n_show]
        _, h, w = data.shape
        size = model.config.block if model.config.corruption == "block" else max(1, h // 3)
        self.size = W.IntSlider(value=size, min=1, max=min(h, w), description="block size (pixels)", **SLIDER)
        self.top = W.IntSlider(value=(h - size) // 2, min=0, max=h - 1, description="block top (row)", **SLIDER)
        self.left = W.IntSlider(value=(w - size) // 2, min=0, max=w - 1, description="block left (column)", **SLIDER)
        self.readout, self.images = W.HTML(), _image()
        for s in (self.size, self.top, self.left):
            s.observe(self._guard(lambda change: self._update()), names="value")
        self._ready(W.VBox([W.HTML("<b>Occlusion explorer</b>: move and resize the hidden block; the model fills it in."),
                            W.HBox([W.VBox([self.size, self.top, self.left]), self.status]), self.readout,
                            W.HTML("rows: original, occluded (the model sees zeros in the block; shown grey here), inpainted"),
                            self.images, self.error]))
        self._update()

    def _update(self):
        _, h, w = self.x_show.shape[1:]
        size = self.size.value
        top, left = min(self.top.value, h - size), min(self.left.value, w - size)  # keep the block inside the image
        r = inference.inpaint(self.model, self.x_show, size, top, left)
        self.readings = dict(psnr_block=r["psnr_block"], psnr_mean_fill=r["psnr_mean_fill"])
        self.readout.value = (f"PSNR inside the block: inpainted <b>{r['psnr_block']:.2f} dB</b>, "
                              f"filled with the image mean {r['psnr_mean_fill']:.2f} dB")
        self.images.value = plots.png(plots.image_grid([r["clean"], r["occluded"], r["inpainted"]]))


class SegmentationExplorer(Explorer):
    """Pick an image and a noise level: the predicted mask beside the truth, with IoU."""

    def __init__(self, model, data):
        _require(model, "SegmentationExplorer", lambda c: c.output == "classes", "a segmentation model")
        _require_data(data, "SegmentationExplorer")
        if data.y is None or data.y.dim() != 3:
            raise ValueError("SegmentationExplorer needs data with masks in .y, e.g. ae.load_dataset('shapes', 'test')")
        super().__init__()
        self.model, self.data = model, data
        self.index = W.IntSlider(value=0, min=0, max=len(data) - 1, description="image", **SLIDER)
        self.noise = W.FloatSlider(value=0.0, min=0.0, max=0.5, step=0.01, description="noise sigma", **SLIDER)
        self.readout, self.images = W.HTML(), _image()
        for s in (self.index, self.noise):
            s.observe(self._guard(lambda change: self._update()), names="value")
        classes = ", ".join(f"{i} = {c}" for i, c in enumerate(data.classes or SHAPE_CLASSES))
        self._ready(W.VBox([W.HTML(f"<b>Segmentation explorer</b>: classes {classes}."),
                            W.HBox([W.VBox([self.index, self.noise]), self.status]), self.readout,
                            W.HTML("input image; true mask; predicted mask"), self.images, self.error]))
        self._update()

    def _update(self):
        i = self.index.value
        r = inference.segment(self.model, self.data.x[i:i + 1], self.data.y[i:i + 1], self.noise.value)
        self.readings = dict(iou=r["iou"], per_class=r["per_class"])
        self.readout.value = f"mean IoU on this image: <b>{r['iou']:.3f}</b>"
        n = self.model.config.n_classes - 1
        image = plots.image_grid([r["image"]], cell=128)
        masks = plots.image_grid([[r["truth"][0], r["pred"][0]]], cmap="viridis", vmin=0, vmax=n, cell=128)  # class numbers
        gap = np.full((image.shape[0], 6, 3), 255, dtype=np.uint8)
        self.images.value = plots.png(np.concatenate([image, gap, masks], axis=1))


from .data import curve2d_band, curve2d_points  # noqa: E402  (the 2-D toy's own)


def _takes_points(config):
    return int(np.prod(config.input_shape)) == 2 and config.arch == "mlp"


class ManifoldExplorer(_Retraining):
    """The 2-D toy (data.make_curve2d): a denoiser's vector field and a contractive code's sensitive direction, with sliders.

    One slider sets the noise the denoiser trains on, the other the contractive lambda; each new value trains that model
    (the other keeps its picture), and every trained value is cached. The models given are the starting values.
    """

    SIGMAS = (0.02, 0.05, 0.1, 0.15, 0.2)
    LAMBDAS = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3)

    def __init__(self, denoiser, contractive, train, fit_options=None, retrain=None, grid=15):
        _require(denoiser, "ManifoldExplorer", lambda c: c.kind == "denoising" and _takes_points(c),
                 "a denoising MLP of 2-D points (input_shape (1, 1, 2), trained on data.make_curve2d) as denoiser")
        _require(contractive, "ManifoldExplorer", lambda c: c.kind == "contractive" and _takes_points(c),
                 "a contractive MLP of 2-D points (input_shape (1, 1, 2), trained on data.make_curve2d) as contractive")
        _require_data(train, "ManifoldExplorer", "train")
        if tuple(train.shape) != tuple(denoiser.config.input_shape):
            raise ValueError(f"ManifoldExplorer needs train with points of shape {denoiser.config.input_shape} "
                             f"(data.make_curve2d), got {tuple(train.shape)}")
        if isinstance(grid, bool) or not isinstance(grid, int) or not 3 <= grid <= 40:
            raise ValueError(f"grid (arrows per side) must be a whole number in [3, 40], got {grid!r}")
        self.fit_options = _fit_options(fit_options, epochs=100, batch_size=64)
        super().__init__(retrain)
        self.train, self.test = train, None
        self.nets = {"denoising": denoiser.config, "contractive": contractive.config}  # retraining keeps these architectures
        self.data_points = inference.points_2d(train)
        self.grid = inference.grid2d(grid, 0.05, 0.95)
        self.band = curve2d_band(300)  # where the arrows are scored: 0.02 to 0.1 off the curve
        self.t_show, self.t_score = np.linspace(0.02, 0.98, 24), np.linspace(0.01, 0.99, 200)
        dn, cae = denoiser.config.noise_level, contractive.config.lam
        self.sigma = W.SelectionSlider(options=sorted({*self.SIGMAS, dn}), value=dn, description="denoiser: noise sigma",
                                       continuous_update=False, **SLIDER)
        self.lam = W.SelectionSlider(options=sorted({*self.LAMBDAS, cae}), value=cae, description="contractive: lambda",
                                     continuous_update=False, **SLIDER)
        self.cache = OrderedDict()
        for key, model in ((("denoising", dn), denoiser), (("contractive", cae), contractive)):
            self.cache[key] = dict(self._entry(key, model, None), model=model, history=None, note="")
        self.readout, self.image, self.fig = W.HTML(), _image(), None
        self.moved = "denoising"  # which slider moved last: its model is the one to train
        self.sigma.observe(self._guard(lambda change: self._moved("denoising")), names="value")
        self.lam.observe(self._guard(lambda change: self._moved("contractive")), names="value")
        self._ready(W.VBox([
            W.HTML("<b>Manifold explorer</b>: points near a curve in the plane. Left: the denoiser's arrows g(f(x)) - x; "
                   "right: the direction a contractive code is most sensitive to. Orange: where each model sends a grid."),
            W.HBox([W.VBox([self.sigma, self.lam]), self.status]), self.readout, self.image, self.error]))
        self._redraw()

    def _keys(self):
        return ("denoising", self.sigma.value), ("contractive", self.lam.value)

    def _key(self):
        """The setting of the slider that moved last."""
        return self._keys()[self.moved == "contractive"]

    def _moved(self, kind):
        self.moved = kind
        self._request()

    def _describe(self, key):
        return f"denoiser sigma = {key[1]:g}" if key[0] == "denoising" else f"contractive lambda = {key[1]:g}"

    def _model(self, key):
        kind, value = key
        cfg = self.nets[kind]
        return kind, cfg.bottleneck, dict(hidden=cfg.hidden, **({"noise_level": value} if kind == "denoising" else {"lam": value}))

    def _entry(self, key, model, history):
        kind, _ = key
        entry = dict(manifold=inference.learned_manifold(model, 40))
        if kind == "denoising":
            entry.update(arrows=(self.grid, inference.denoising_field(model, self.grid)),
                         score=inference.field_towards_curve(model, self.band))
        else:
            at = curve2d_points(self.t_show)
            entry.update(segments=(at, inference.encoder_directions(model, at)[0]),
                         score=inference.tangent_alignment(model, self.t_score))
        return entry

    def _show_partial(self, key, model, history):
        self._set_status(f"{self._describe(key)}: training, epoch {history.epochs} of {self.fit_options['epochs']}")

    def _show(self, key, entry):
        self._redraw()

    def _after_training(self):
        self._redraw()
        other = self._keys()[self.moved == "denoising"]
        if other not in self.cache:  # the other slider moved while this model trained: train that one too
            self._moved(other[0])

    def _redraw(self):
        """Draw the cached models of the current slider values (a model still training keeps its previous picture)."""
        d, c = (self.cache.get(k) for k in self._keys())
        self.shown = getattr(self, "shown", {})
        self.shown.update({k: e for k, e in (("denoising", d), ("contractive", c)) if e is not None})
        dn, cae = self.shown["denoising"], self.shown["contractive"]
        self.readings = dict(sigma=self.sigma.value, lam=self.lam.value, towards_curve=dn["score"], tangent=cae["score"],
                             denoiser=dn["model"], contractive=cae["model"])
        self.readout.value = (f"denoiser: arrows point at the nearest curve point with mean cosine <b>{dn['score']:.2f}</b> "
                              f"(1 = exactly) &nbsp; contractive: most sensitive direction along the curve, mean |cosine| "
                              f"<b>{cae['score']:.2f}</b> (about 0.64 at random)")
        panels = [dict(title=f"denoiser, trained at sigma {dn['model'].config.noise_level:g}", manifold=dn["manifold"],
                       arrows=dn["arrows"]),
                  dict(title=f"contractive, lambda {cae['model'].config.lam:g}", manifold=cae["manifold"],
                       segments=cae["segments"])]
        with self._draw:
            self.fig = plots.manifold_2d(self.data_points, panels, fig=self.fig)
            self.image.value = plots.to_png(self.fig)


# ---- static pictures of explorers, for pages without a kernel (the course site, slides) ----

STATIC_NOTE = "A picture of this explorer as it first appears: run the notebook to move the sliders."


def static_html(widget):
    """The widget tree as plain HTML: pictures, texts and each control's current value, nothing that needs a kernel."""
    if getattr(widget.layout, "display", None) == "none" or getattr(widget.layout, "visibility", None) == "hidden":
        return ""
    if isinstance(widget, W.Box):
        direction = "row" if isinstance(widget, W.HBox) else "column"
        inner = "".join(static_html(child) for child in widget.children)
        return f"<div style='display:flex; flex-direction:{direction}; gap:6px; align-items:flex-start'>{inner}</div>"
    if isinstance(widget, W.Image):
        if not widget.value:
            return ""
        data = base64.b64encode(widget.value).decode()
        return f"<img style='max-width:100%' src='data:image/{widget.format};base64,{data}'>"
    if isinstance(widget, (W.HTML, W.Label)):
        return f"<div>{widget.value if isinstance(widget, W.HTML) else html.escape(widget.value)}</div>"
    if isinstance(widget, W.Button):
        return f"<button disabled>{html.escape(widget.description)}</button>"
    if hasattr(widget, "value") and hasattr(widget, "description"):  # sliders, dropdowns: label and value
        value = widget.label if hasattr(widget, "label") and widget.label is not None else widget.value
        if isinstance(value, float):
            value = format(value, getattr(widget, "readout_format", ".3g"))
        return (f"<div style='font-family:sans-serif; margin-right:1.5em'><span style='display:inline-block; min-width:170px'>"
                f"{html.escape(str(widget.description))}</span> <b>{html.escape(str(value))}</b></div>")
    return f"<div><i>({html.escape(type(widget).__name__)}: interactive only)</i></div>"


def static_view(explorer, timeout=300):
    """An explorer's first state as HTML (IPython.display.HTML), once its first training has finished."""
    from IPython.display import HTML
    explorer.wait(timeout)
    with explorer._draw:
        body = static_html(explorer.widget)
    note = f"<p style='font-style:italic; color:#555'>{STATIC_NOTE}</p>"
    return HTML(f"<div class='aeteach-static' style='border:1px solid #ccc; padding:8px'>{note}{body}</div>")


def _live_explorers():
    """The explorers this kernel made and has not closed, oldest first."""
    found = (ref() for ref in list(_LIVE.values()))
    return [e for e in found if e is not None and e.widget is not None and e.widget.comm is not None]
