"""Live explorers: ipywidgets apps that retrain or re-infer when a slider moves.

Widgets only wire controls to the engine: training is aeteach.fit, images and numbers come from
aeteach.inference, figures from aeteach.plots. Sliders that only need inference update persistent
figures at once; sliders that need training hand the job to the explorer's worker (aeteach.worker:
a background thread that a newer value cancels, or inline in the callback where updates from threads
do not reach the page, as on Colab), and finished models are cached per setting so going back is instant.
Errors inside callbacks are shown in the explorer, with their traceback, and the explorer keeps working.
Everything here runs under ipywidgets 7.7+ and 8.
"""
import html
import os
import sys
import threading
import traceback
import warnings

import ipywidgets as W
import numpy as np
from IPython.display import display

from . import inference, plots
from .data import NOISE_RANGES, SHAPE_CLASSES
from .metrics import pca_curve
from .models import make_model
from .train import fit
from .worker import Worker

# one label width for every control, so slider tracks line up under each other
STYLE = {"description_width": "170px"}
SLIDER = dict(style=STYLE, layout=W.Layout(width="430px"))


def _image(value=b""):
    # flex-start: inside a VBox an image would otherwise be stretched to the full width (blurry, huge)
    return W.Image(value=value, format="png", layout=W.Layout(align_self="flex-start", max_width="100%"))
PARTIAL_EVERY = 0.25  # seconds between partial results while training (drawing them costs ~50 ms)


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


class Explorer:
    """Shared plumbing: status line, error box, where training runs (see aeteach.worker), one-line display."""

    def __init__(self, retrain=None):
        self.worker = Worker(type(self).__name__, retrain)  # validates retrain before any widget exists
        self.status = W.HTML()
        # errors and their tracebacks go into HTML, not an Output widget: classic Notebook 6.5 with ipywidgets 7.8
        # cannot render an Output widget, and one inside the explorer would blank all of it
        self.error = W.HTML(layout=W.Layout(max_width="900px"))
        self._draw = threading.RLock()  # one figure draw at a time: the UI thread and the worker share figures
        self.widget = None  # subclasses build it

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

    def _submit(self, job):
        self.worker.submit(self._guard(job))

    def _set_status(self, text):
        self.status.value = f"<span style='font-size:0.95em'>{html.escape(text)}</span>"


def _require(model, who, ok, what):
    """Refuse a model the explorer cannot show, with what it needs."""
    config = getattr(model, "config", None)
    if config is None:
        raise ValueError(f"{who} needs an aeteach model (from ae.make_model), got {type(model).__name__}")
    if not ok(config):
        raise ValueError(f"{who} needs {what}; got kind {config.kind!r} with arch {config.arch!r}")


def _trainer(kind, train, test, bottleneck, fit_options, on_partial, **hyper):
    """A job(stop) that trains one model with partial results; returns (model, history) or None if cancelled.

    fit_options: keyword arguments for fit (epochs, time_budget, batch_size, lr ...).
    """
    def job(stop):
        model = make_model(kind, train.shape, bottleneck, **hyper)
        last = [-PARTIAL_EVERY]  # the first epoch shows at once, later ones every PARTIAL_EVERY seconds

        def partial(event, state):
            if event == "epoch_end" and state.history.seconds[-1] - last[0] >= PARTIAL_EVERY and not stop.is_set():
                last[0] = state.history.seconds[-1]
                on_partial(model, state.history)

        history = fit(model, train, test, stop=stop, callbacks=[partial], progress=False, **fit_options)
        return None if stop.is_set() else (model, history)
    return job


class BottleneckExplorer(Explorer):
    """Bottleneck size slider: retrains, shows reconstructions, the loss curve and test MSE against k beside PCA."""

    def __init__(self, train, test, kind="undercomplete", sizes=(1, 64), start=8, epochs=60, time_budget=3.0, n_show=8,
                 fit_options=None, retrain=None, **hyper):
        super().__init__(retrain)
        lo, hi = sizes
        d = int(np.prod(train.shape))
        if not (1 <= lo <= start <= hi):
            raise ValueError(f"need 1 <= sizes[0] <= start <= sizes[1]; got sizes={sizes}, start={start}")
        self.train, self.test, self.kind, self.hyper = train, test, kind, hyper
        self.fit_options = dict(epochs=epochs, time_budget=time_budget, **(fit_options or {}))
        self.x_show = test.x[:n_show]
        self.originals = inference.images(self.x_show)
        self.cache = {}  # k -> dict(model, history, recon, mse)
        self.model, self.shown_k = None, None
        self.pca_ks = list(range(lo, min(hi, d, len(train)) + 1))
        self.pca = pca_curve(train.x, test.x, self.pca_ks)
        self.slider = W.IntSlider(value=start, min=lo, max=hi, description="bottleneck size k", continuous_update=False, **SLIDER)
        self.images, self.loss_img, self.curve_img = _image(), _image(), _image()
        self.fig_loss = self.fig_curve = None
        self.slider.observe(self._guard(self._on_k), names="value")
        self.widget = W.VBox([
            W.HTML("<b>Bottleneck explorer</b>: drag k, the size of the code h = f(x)."),
            W.HBox([self.slider, self.status]), W.HTML("top row: test images x; bottom row: reconstructions g(f(x))"), self.images, W.HBox([self.loss_img, self.curve_img]), self.error])
        self._draw_curve()
        self._on_k({"new": start})

    def _on_k(self, change):
        k = change["new"]
        if k in self.cache:
            self._show(k, self.cache[k])
            self._set_status(f"k = {k}: cached, test MSE {self.cache[k]['mse']:.4f}")
            return
        self._set_status(f"k = {k}: training ...")
        on_partial = lambda model, history: self._show_partial(k, model, history)
        train = _trainer(self.kind, self.train, self.test, k, self.fit_options, on_partial, **self.hyper)

        def job(stop):
            result = train(stop)
            if result is None:
                return
            model, history = result
            _, recon, _ = inference.reconstruct(model, self.x_show)
            self.cache[k] = dict(model=model, history=history, mse=history.test["recon"][-1],
                                 images=plots.png(plots.image_grid([self.originals, recon])))
            if self.slider.value == k:
                self._show(k, self.cache[k])
                self._set_status(f"k = {k}: trained {history.epochs} epochs in {history.seconds[-1]:.1f} s, test MSE {history.test['recon'][-1]:.4f}")
            self._draw_curve()
        self._submit(job)

    def _show_partial(self, k, model, history):
        originals, recon, _ = inference.reconstruct(model, self.x_show)
        self._draw_images(originals, recon)
        self._draw_loss(history)
        self._set_status(f"k = {k}: training, epoch {history.epochs}, test MSE {history.test['recon'][-1]:.4f}")

    def _show(self, k, entry):
        """Show a finished model; its figures are rendered once and kept, so revisiting k only swaps PNGs."""
        self.model, self.shown_k = entry["model"], k
        self.images.value = entry["images"]
        if "loss" not in entry:
            self._draw_loss(entry["history"])
            entry["loss"] = self.loss_img.value
        self.loss_img.value = entry["loss"]

    def _draw_images(self, originals, recon):
        self.images.value = plots.png(plots.image_grid([originals, recon]))

    def _draw_loss(self, history):
        with self._draw:
            self.fig_loss = plots.loss_curves(history, split="epochs", fig=self.fig_loss)
            self.loss_img.value = plots.to_png(self.fig_loss)

    def _draw_curve(self):
        ks = sorted(self.cache)
        with self._draw:
            self.fig_curve = plots.curves({"PCA (linear optimum)": (self.pca_ks, self.pca)}, fig=self.fig_curve)
            self.fig_curve = plots.curves({f"{self.kind} autoencoder": (ks, [self.cache[k]["mse"] for k in ks])},
                                          xlabel="bottleneck size k", ylabel="test MSE", title="error against bottleneck size",
                                          logy=True, markers=True, fig=self.fig_curve)
            self.curve_img.value = plots.to_png(self.fig_curve)


REGULARISERS = {
    # kind: (slider label, hyperparameter, log10 range, start, what the penalty limits)
    "sparse_l1": ("lambda (log10)", "lam", (-6.0, -1.0), -4.0, "active fraction"),
    "sparse_kl": ("beta (log10)", "beta", (-4.0, 1.0), -2.0, "active fraction"),
    "contractive": ("lambda (log10)", "lam", (-5.0, 0.0), -2.0, "Jacobian norm ||J||_F"),
    "topk": ("k active units", "k", (1, 32), 8, "active fraction"),
}


class RegulariserExplorer(Explorer):
    """Regularisation strength slider: activation histogram, active/dead units, features, Jacobian norm, trade-off."""

    def __init__(self, train, test, kind="sparse_l1", bottleneck=None, epochs=40, time_budget=3.0, n_features=16,
                 fit_options=None, retrain=None, **hyper):
        super().__init__(retrain)
        if kind not in REGULARISERS:
            raise ValueError(f"kind must be one of {', '.join(REGULARISERS)}, got {kind!r}")
        label, self.param, (lo, hi), start, self.quantity = REGULARISERS[kind]
        self.bottleneck = bottleneck or (8 if kind == "contractive" else 64)
        self.train, self.test, self.kind, self.hyper = train, test, kind, hyper
        # one sigmoid layer (the contractive default) learns slowly with large batches: take smaller ones
        defaults = dict(batch_size=64) if kind == "contractive" else {}
        self.fit_options = dict(epochs=epochs, time_budget=time_budget, **{**defaults, **(fit_options or {})})
        self.n_features = n_features
        self.x_eval = test.x[:300]
        self.cache, self.model, self.shown = {}, None, None
        if kind == "topk":
            self.slider = W.IntSlider(value=start, min=lo, max=min(hi, self.bottleneck), description=label, continuous_update=False, **SLIDER)
        else:
            self.slider = W.FloatSlider(value=start, min=lo, max=hi, step=0.25, description=label, continuous_update=False,
                                        readout_format=".2f", **SLIDER)
        self.controls = [self.slider]
        if kind == "sparse_kl":
            self.rho = W.FloatSlider(value=hyper.pop("rho", 0.05), min=0.01, max=0.5, step=0.01, description="target rho",
                                     continuous_update=False, **SLIDER)
            self.rho.observe(self._guard(lambda change: self._request()), names="value")
            self.controls.append(self.rho)
        self.hist_img, self.feat_img, self.trade_img = (_image() for _ in range(3))
        self.fig_hist = self.fig_trade = None
        self.numbers = W.HTML()
        self.slider.observe(self._guard(lambda change: self._request()), names="value")
        self.widget = W.VBox([
            W.HTML(f"<b>Regulariser explorer</b> ({kind}, {self.bottleneck} code units): stronger regularisation "
                   f"trades reconstruction error for a smaller {self.quantity}."),
            W.HBox([W.VBox(self.controls), self.status]), self.numbers,
            W.HBox([self.hist_img, self.trade_img]),
            W.HTML("learned features: what each code unit adds to the output, g(s e_i) - g(0) (red +, blue -)"), self.feat_img,
            self.error])
        self._request()

    def setting(self):
        """The hyperparameters for the current slider positions."""
        value = self.slider.value if self.kind == "topk" else float(10 ** self.slider.value)
        s = {self.param: value}
        if self.kind == "sparse_kl":
            s["rho"] = self.rho.value
        return s

    def _request(self):
        hyper = self.setting()
        key = tuple(sorted(hyper.items()))
        if key in self.cache:
            self._show(key)
            self._set_status(f"{self._describe(hyper)}: cached")
            return
        self._set_status(f"{self._describe(hyper)}: training ...")
        train = _trainer(self.kind, self.train, self.test, self.bottleneck, self.fit_options,
                         lambda model, history: self._set_status(
                             f"{self._describe(hyper)}: training, epoch {history.epochs}, test recon {history.test['recon'][-1]:.4f}"),
                         **self.hyper, **hyper)

        def job(stop):
            result = train(stop)
            if result is None:
                return
            model, history = result
            stats = inference.code_stats(model, self.x_eval)
            stats.update(model=model, history=history, mse=history.test["recon"][-1],
                         features=inference.features(model, self.x_eval, self.n_features), hyper=hyper)
            self.cache[key] = stats
            if self.setting() == hyper:
                self._show(key)
                self._set_status(f"{self._describe(hyper)}: trained in {history.seconds[-1]:.1f} s")
            self._draw_tradeoff()
        self._submit(job)

    def _describe(self, hyper):
        return ", ".join(f"{k} = {v:.3g}" for k, v in hyper.items())

    def _show(self, key):
        s = self.cache[key]
        self.model, self.shown = s["model"], key
        self.numbers.value = (f"test MSE <b>{s['mse']:.4f}</b> &nbsp; active fraction <b>{s['active']:.2f}</b> &nbsp; "
                              f"dead units <b>{s['dead']}</b> of {self.bottleneck} &nbsp; mean Jacobian norm <b>{s['jacobian']:.2f}</b>")
        if "pngs" not in s:  # render once per setting; revisiting only swaps PNGs
            with self._draw:
                self.fig_hist = plots.histogram(s["codes"], xlabel="code activation h", title="activations on test images",
                                                fig=self.fig_hist)
                feats = s["features"]
                lim = float(np.abs(feats).max()) or 1.0
                s["pngs"] = (plots.to_png(self.fig_hist), plots.png(plots.image_grid([feats], cmap="RdBu_r", vmin=-lim, vmax=lim, cell=48)))
        self.hist_img.value, self.feat_img.value = s["pngs"]

    def _draw_tradeoff(self):
        entries = sorted(self.cache.values(), key=lambda s: s["mse"])
        use_jac = self.kind == "contractive"
        xs = [s["jacobian"] if use_jac else s["active"] for s in entries]
        with self._draw:
            self.fig_trade = plots.curves({"settings tried": (xs, [s["mse"] for s in entries])},
                                          xlabel=self.quantity, ylabel="test MSE", title="trade-off (one point per setting)",
                                          markers=True, fig=self.fig_trade)
            self.fig_trade.ae["lines"]["settings tried"].set_linestyle("none")
            self.trade_img.value = plots.to_png(self.fig_trade)


class NoiseExplorer(Explorer):
    """Noise kind and level: corrupt test images and denoise them at once (inference only); retrain on demand."""

    def __init__(self, model, test, train=None, n_show=6, epochs=60, time_budget=5.0, seed=0, fit_options=None, retrain=None):
        _require(model, "NoiseExplorer", lambda c: c.kind != "segmentation", "a model that reconstructs images (not segmentation)")
        super().__init__(retrain)
        self.model, self.test, self.train, self.seed = model, test, train, seed
        self.fit_options = dict(epochs=epochs, time_budget=time_budget, **(fit_options or {}))
        self.x_show = test.x[:n_show]
        self.cache = {(model.config.noise, model.config.noise_level): model} if model.config.kind == "denoising" else {}
        self.kind = W.Dropdown(options=list(NOISE_RANGES), value=model.config.noise if model.config.kind == "denoising" else "gaussian",
                               description="noise kind", style=STYLE)
        lo, hi = NOISE_RANGES[self.kind.value]
        self.level = W.FloatSlider(value=model.config.noise_level if model.config.kind == "denoising" else 0.3, min=lo, max=hi,
                                   step=0.01, description="noise level (sigma or p)", **SLIDER)
        self.retrain = W.Button(description="retrain at this level", disabled=train is None, icon="refresh",
                                layout=W.Layout(width="auto"))
        self.readout = W.HTML()
        self.images = _image()
        self.kind.observe(self._guard(lambda change: self._update()), names="value")
        self.level.observe(self._guard(lambda change: self._update()), names="value")
        self.retrain.on_click(self._guard(lambda button: self._retrain()))
        self.widget = W.VBox([
            W.HTML("<b>Noise explorer</b>: the denoiser runs on corrupted test images as you move the slider."),
            W.HBox([self.kind, self.level]), W.HBox([self.retrain, self.status]), self.readout,
            W.HTML("rows: clean, noisy, denoised"), self.images, self.error])
        self._update()

    def _update(self):
        r = inference.denoise(self.model, self.x_show, self.kind.value, self.level.value, seed=self.seed)
        cfg = self.model.config
        trained = f"{cfg.noise} {cfg.noise_level:.2f}" if cfg.kind == "denoising" else "clean images (plain autoencoder)"
        self.psnr = (r["psnr_noisy"], r["psnr_denoised"])
        self.readout.value = (f"PSNR noisy <b>{r['psnr_noisy']:.2f} dB</b> &rarr; denoised <b>{r['psnr_denoised']:.2f} dB</b> "
                              f"&nbsp; (model trained on {trained})")
        self.images.value = plots.png(plots.image_grid([r["clean"], r["noisy"], r["denoised"]]))

    def _retrain(self):
        noise, level = self.kind.value, self.level.value
        key = (noise, round(level, 2))
        if key in self.cache:
            self.model = self.cache[key]
            self._update()
            self._set_status(f"denoiser for {noise} {level:.2f}: cached")
            return
        self._set_status(f"training a denoiser for {noise} {level:.2f} ...")
        cfg = self.model.config
        extra = dict(hidden=cfg.hidden) if cfg.arch == "mlp" else dict(channels=cfg.channels)  # the same architecture
        train = _trainer("denoising", self.train, None, cfg.bottleneck, self.fit_options,
                         lambda model, history: self._set_status(f"training, epoch {history.epochs}"),
                         arch=cfg.arch, noise=noise, noise_level=level, **extra)

        def job(stop):
            result = train(stop)
            if result is None:
                return
            self.cache[key] = self.model = result[0]
            self._update()
            self._set_status(f"denoiser for {noise} {level:.2f}: trained in {result[1].seconds[-1]:.1f} s")
        self._submit(job)


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
        if model.config.kind == "vae":
            self.sample_button = W.Button(description="sample new images", icon="random", layout=W.Layout(width="auto"))
            self.samples_img = _image()
            self._sample_seed = 0
            self.sample_button.on_click(self._guard(lambda b: self._sample()))
            parts += [W.HBox([self.sample_button, self.status]), self.samples_img]
            if k == 2:
                grid = plots.image_grid(np.split(inference.normal_grid(model, 8), 8), cell=40, gap=1)
                self.grid_img = _image(plots.png(grid))
                parts += [W.HTML("decoded grid over standard-normal quantiles of z1 (across) and z2 (down)"), self.grid_img]
        self.widget = W.VBox(parts + [self.error])
        self._select()
        if model.config.kind == "vae":
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
        _require(model, "OcclusionExplorer", lambda c: c.kind != "segmentation", "a model that reconstructs images (ideally inpainting)")
        super().__init__()
        self.model, self.x_show = model, data.x[:n_show]
        _, h, w = data.shape
        size = model.config.block if model.config.kind == "inpainting" else max(1, h // 3)
        self.size = W.IntSlider(value=size, min=1, max=min(h, w), description="block size (pixels)", **SLIDER)
        self.top = W.IntSlider(value=(h - size) // 2, min=0, max=h - 1, description="block top (row)", **SLIDER)
        self.left = W.IntSlider(value=(w - size) // 2, min=0, max=w - 1, description="block left (column)", **SLIDER)
        self.readout, self.images = W.HTML(), _image()
        for s in (self.size, self.top, self.left):
            s.observe(self._guard(lambda change: self._update()), names="value")
        self.widget = W.VBox([W.HTML("<b>Occlusion explorer</b>: move and resize the hidden block; the model fills it in."),
                              W.HBox([W.VBox([self.size, self.top, self.left]), self.status]), self.readout,
                              W.HTML("rows: original, occluded (the model sees zeros in the block; shown grey here), inpainted"),
                              self.images,
                              self.error])
        self._update()

    def _update(self):
        _, h, w = self.x_show.shape[1:]
        size = self.size.value
        top, left = min(self.top.value, h - size), min(self.left.value, w - size)  # keep the block inside the image
        r = inference.inpaint(self.model, self.x_show, size, top, left)
        self.psnr = r["psnr_block"]
        self.readout.value = (f"PSNR inside the block: inpainted <b>{r['psnr_block']:.2f} dB</b>, "
                              f"filled with the image mean {r['psnr_mean_fill']:.2f} dB")
        self.images.value = plots.png(plots.image_grid([r["clean"], r["occluded"], r["inpainted"]]))


class SegmentationExplorer(Explorer):
    """Pick an image and a noise level: the predicted mask beside the truth, with IoU."""

    def __init__(self, model, data):
        _require(model, "SegmentationExplorer", lambda c: c.kind == "segmentation", "a segmentation model")
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
        self.widget = W.VBox([W.HTML(f"<b>Segmentation explorer</b>: classes {classes}."),
                              W.HBox([W.VBox([self.index, self.noise]), self.status]), self.readout,
                              W.HTML("input image; true mask; predicted mask"), self.images,
                              self.error])
        self._update()

    def _update(self):
        i = self.index.value
        r = inference.segment(self.model, self.data.x[i:i + 1], self.data.y[i:i + 1], self.noise.value)
        self.iou = r["iou"]
        self.readout.value = f"mean IoU on this image: <b>{r['iou']:.3f}</b>"
        n = self.model.config.n_classes - 1
        image = plots.image_grid([r["image"]], cell=128)
        masks = plots.image_grid([[r["truth"][0], r["pred"][0]]], cmap="viridis", vmin=0, vmax=n, cell=128)  # class numbers
        gap = np.full((image.shape[0], 6, 3), 255, dtype=np.uint8)
        self.images.value = plots.png(np.concatenate([image, gap, masks], axis=1))
