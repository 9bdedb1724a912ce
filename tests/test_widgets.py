"""Explorers driven as a student would, by setting widget values in code (no browser)."""
import threading

import pytest

import aeteach as ae
from aeteach import inference, widgets


@pytest.fixture(scope="module")
def trained(digits):
    """Small trained models shared by the inference-only explorers."""
    train, _ = digits
    models = {}
    for kind, k, hyper in (("denoising", 16, {}), ("vae", 2, {}), ("inpainting", 16, {"block": 3})):
        models[kind] = ae.make_model(kind, train.shape, k, **hyper)
        ae.fit(models[kind], train, epochs=15, progress=False)
    return models


def _workers(name):
    return sum(t.name == name and t.is_alive() for t in threading.enumerate())


def test_bottleneck_explorer_shows_the_model_for_the_slider_value(digits):
    explorer = widgets.BottleneckExplorer(*digits, fit_options=dict(epochs=8), start=4)
    assert explorer.wait(60)
    assert explorer.readings["k"] == 4 and explorer.model.config.bottleneck == 4
    first_image = explorer.images.value
    explorer.slider.value = 12
    assert explorer.wait(60)
    assert explorer.model.config.bottleneck == 12 and explorer.images.value != first_image
    assert "k = 12" in explorer.status.value and not explorer.error.value
    # the curve gains one point per trained size, beside the PCA curve
    ks, _ = explorer.fig_curve.ae["lines"]["undercomplete autoencoder"].get_data()
    assert list(ks) == [4, 12]


def test_a_burst_of_twenty_values_ends_on_the_last_without_piling_up_threads(digits):
    before = _workers("BottleneckExplorer")
    explorer = widgets.BottleneckExplorer(*digits, fit_options=dict(epochs=8), start=1)
    for k in range(2, 22):
        explorer.slider.value = k
    assert _workers("BottleneckExplorer") == before + 1  # one worker, however many values
    assert explorer.wait(90)
    assert explorer.readings["k"] == 21 and explorer.model.config.bottleneck == 21
    assert 21 in explorer.cache and len(explorer.cache) < 20  # superseded values were cancelled, not all trained
    explorer.close()
    explorer.worker.thread.join(5)
    assert _workers("BottleneckExplorer") == before


def test_revisiting_a_cached_value_is_instant_and_trains_nothing(digits):
    explorer = widgets.BottleneckExplorer(*digits, fit_options=dict(epochs=5), start=3)
    explorer.wait(60)
    explorer.slider.value = 5
    explorer.wait(60)
    cached_model = explorer.cache[3]["model"]
    explorer.slider.value = 3  # synchronous: no worker involved
    assert explorer.model is cached_model and "cached" in explorer.status.value


def test_regulariser_explorer_adds_a_tradeoff_point_per_setting(digits):
    explorer = widgets.RegulariserExplorer(*digits, kind="sparse_l1", bottleneck=32, fit_options=dict(epochs=5))
    explorer.wait(60)
    explorer.slider.value = -2.0
    explorer.wait(60)
    assert set(explorer.cache) == {(("lam", 1e-4),), (("lam", 1e-2),)}
    weak, strong = explorer.cache[(("lam", 1e-4),)], explorer.cache[(("lam", 1e-2),)]
    assert strong["active"] < weak["active"]
    xs, _ = explorer.fig_trade.ae["lines"]["settings tried"].get_data()
    assert len(xs) == 2 and "dead units" in explorer.numbers.value


def test_topk_explorer_slider_sets_k(digits):
    explorer = widgets.RegulariserExplorer(*digits, kind="topk", bottleneck=32, fit_options=dict(epochs=3))
    explorer.slider.value = 3
    explorer.wait(60)
    assert explorer.model.config.k == 3


def test_noise_explorer_updates_psnr_at_once(digits, trained):
    _, test = digits
    explorer = widgets.NoiseExplorer(trained["denoising"], test)
    low, image = explorer.readings["psnr_noisy"], explorer.images.value
    explorer.level.value = 0.6
    assert explorer.readings["psnr_noisy"] < low and explorer.images.value != image
    assert f"{explorer.readings['psnr_noisy']:.2f} dB" in explorer.readout.value
    explorer.kind.value = "salt_pepper"
    assert "salt" not in explorer.error.value and explorer.readings["psnr_noisy"] != low


def test_noise_explorer_retrains_for_a_new_level(digits, trained):
    train, test = digits
    explorer = widgets.NoiseExplorer(trained["denoising"], test, train=train, fit_options=dict(epochs=3))
    explorer.level.value = 0.5
    explorer.retrain.click()
    assert explorer.wait(60)
    assert explorer.model.config.noise_level == 0.5 and ("gaussian", 0.5) in explorer.cache


def test_callback_errors_are_shown_and_the_explorer_keeps_working(digits, trained, monkeypatch):
    _, test = digits
    explorer = widgets.NoiseExplorer(trained["denoising"], test)
    real = inference.denoise
    monkeypatch.setattr(inference, "denoise", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("model exploded")))
    explorer.level.value = 0.4
    assert "model exploded" in explorer.error.value
    assert "Traceback" in explorer.error.value and "test_widgets.py" in explorer.error.value  # the traceback, in HTML
    monkeypatch.setattr(inference, "denoise", real)
    explorer.level.value = 0.2
    assert explorer.error.value == "" and "0.2" not in explorer.error.value


def test_errors_in_background_training_are_shown(digits, monkeypatch):
    monkeypatch.setattr(widgets, "fit", lambda *a, **k: (_ for _ in ()).throw(ValueError("lr must be a positive number")))
    explorer = widgets.BottleneckExplorer(*digits, start=2)
    explorer.wait(30)
    assert "lr must be a positive number" in explorer.error.value


def test_latent_explorer_traversal_interpolation_and_samples(digits, trained):
    _, test = digits
    vae = trained["vae"]
    for use_plotly in (True, False):
        explorer = widgets.LatentExplorer(vae, test, n_points=200, use_plotly=use_plotly)
        before = explorer.traverse_img.value
        explorer.dims[0].value = explorer.dims[0].max
        assert explorer.traverse_img.value != before
        interp = explorer.interp_img.value
        explorer.other.value = 7
        assert explorer.interp_img.value != interp
        samples = explorer.samples_img.value
        explorer.sample_button.click()
        assert explorer.samples_img.value != samples and not explorer.error.value
        if use_plotly:
            assert len(explorer.scatter.data[0].x) == 200
        else:
            assert explorer.fig_scatter.ae["points"].get_offsets().shape == (200, 2)


def test_occlusion_explorer_keeps_the_block_inside_and_updates(digits, trained):
    _, test = digits
    explorer = widgets.OcclusionExplorer(trained["inpainting"], test)
    first = explorer.readings["psnr_block"]
    explorer.left.value = 7  # a 3-pixel block at column 7 would leave the 8-pixel image: it is clamped
    assert explorer.readings["psnr_block"] != first and not explorer.error.value


def test_segmentation_explorer_shows_noisy_input_and_iou():
    data = ae.load_dataset("shapes", n=200, size=16)
    model = ae.make_model("segmentation", data.shape, 8, channels=(8, 16))
    ae.fit(model, data, epochs=8, batch_size=32, progress=False)
    explorer = widgets.SegmentationExplorer(model, data)
    image = explorer.images.value
    explorer.noise.value = 0.5
    assert explorer.images.value != image and 0 <= explorer.readings["iou"] <= 1
    explorer.index.value = 3
    assert f"{explorer.readings['iou']:.3f}" in explorer.readout.value and not explorer.error.value


def test_bad_arguments_are_clear_errors(digits):
    with pytest.raises(ValueError, match="kind must be one of sparse_l1"):
        widgets.RegulariserExplorer(*digits, kind="vae")
    with pytest.raises(ValueError, match="start"):
        widgets.BottleneckExplorer(*digits, sizes=(1, 8), start=20)
    segmenter = ae.make_model("segmentation", (1, 8, 8), 4)
    with pytest.raises(ValueError, match="LatentExplorer needs a model with a vector code"):
        widgets.LatentExplorer(segmenter, digits[1])
    with pytest.raises(ValueError, match="SegmentationExplorer needs a segmentation model"):
        widgets.SegmentationExplorer(ae.make_model("undercomplete", (1, 8, 8), 4), digits[1])
    with pytest.raises(ValueError, match="needs data with masks"):
        widgets.SegmentationExplorer(segmenter, digits[1])
    with pytest.raises(ValueError, match="needs an aeteach model"):
        widgets.NoiseExplorer("not a model", digits[1])


# ---------------------------------------------------------------- front ends: display, retrain modes, errors

def _published(obj):
    """The mime bundles IPython publishes when a cell shows obj (as a notebook front end receives them)."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    shell = InteractiveShell.instance()
    sent = []
    real = shell.display_pub.publish
    shell.display_pub.publish = lambda data, *a, **k: sent.append(data)
    try:
        display(obj)
    finally:
        shell.display_pub.publish = real
    return sent


def _descendants(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _descendants(child)


def test_explorers_display_as_a_live_widget_under_the_installed_ipywidgets(digits, trained):
    # ipywidgets 7 has no _repr_mimebundle_ on its boxes: the explorer must still reach the front end as a widget view
    explorer = widgets.NoiseExplorer(trained["denoising"], digits[1])
    views = [d["application/vnd.jupyter.widget-view+json"] for d in _published(explorer)
             if "application/vnd.jupyter.widget-view+json" in d]
    assert [v["model_id"] for v in views] == [explorer.widget.model_id]
    bundle = explorer._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.widget.model_id


def test_no_explorer_holds_an_output_widget(digits, trained):
    # classic Notebook 6.5 + ipywidgets 7.8 cannot render Output widgets, which blanked whole explorers
    import ipywidgets as W
    explorers = [widgets.NoiseExplorer(trained["denoising"], digits[1]),
                 widgets.LatentExplorer(trained["vae"], digits[1], n_points=100),
                 widgets.OcclusionExplorer(trained["inpainting"], digits[1]),
                 widgets.BottleneckExplorer(*digits, fit_options=dict(epochs=2), start=2, retrain="inline")]
    for explorer in explorers:
        assert not [w for w in _descendants(explorer.widget) if isinstance(w, W.Output)], type(explorer).__name__


def test_inline_mode_trains_in_the_callback_and_sends_partial_results_from_it(digits):
    threads = threading.active_count()
    explorer = widgets.BottleneckExplorer(*digits, fit_options=dict(epochs=6), start=3, retrain="inline")
    assert explorer.worker.mode == "inline" and explorer.worker.thread is None
    assert explorer.readings["k"] == 3  # trained before the constructor returned
    shown = []
    explorer.images.observe(lambda change: shown.append(threading.current_thread().name), names="value")
    explorer.slider.value = 9  # returns only when k = 9 is trained
    assert explorer.readings["k"] == 9 and explorer.model.config.bottleneck == 9 and "k = 9: trained" in explorer.status.value
    assert len(shown) >= 2  # a partial result, then the final one ...
    assert set(shown) == {threading.current_thread().name}  # ... all sent from the callback's own thread
    assert threading.active_count() == threads


def test_retrain_mode_comes_from_the_argument_the_environment_or_colab(digits, monkeypatch):
    import sys
    import types
    from aeteach import worker
    monkeypatch.delenv("AETEACH_RETRAIN", raising=False)
    assert worker.retrain_mode() == "background"
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert worker.retrain_mode() == "inline"  # Colab drops widget updates sent from threads
    assert worker.retrain_mode("background") == "background"  # the argument wins
    monkeypatch.setenv("AETEACH_RETRAIN", "background")
    assert worker.retrain_mode() == "background"
    monkeypatch.setenv("AETEACH_RETRAIN", "threads")
    with pytest.raises(ValueError, match="AETEACH_RETRAIN must be one of background, inline, got 'threads'"):
        widgets.BottleneckExplorer(*digits, start=2)
    with pytest.raises(ValueError, match="retrain must be one of background, inline"):
        widgets.RegulariserExplorer(*digits, retrain="sync")


def test_errors_in_inline_training_are_shown(digits, monkeypatch):
    monkeypatch.setattr(widgets, "fit", lambda *a, **k: (_ for _ in ()).throw(ValueError("lr must be a positive number")))
    explorer = widgets.BottleneckExplorer(*digits, start=2, retrain="inline")
    assert "lr must be a positive number" in explorer.error.value and "Traceback" in explorer.error.value


def test_latent_scatter_is_a_picture_unless_plotly_is_asked_for(digits, trained, monkeypatch):
    import ipywidgets as W
    explorer = widgets.LatentExplorer(trained["vae"], digits[1], n_points=100)
    assert not explorer.use_plotly and isinstance(explorer.scatter_img, W.Image)
    monkeypatch.setenv("VSCODE_PID", "1234")
    assert widgets.front_end() == "vscode"
    with pytest.warns(UserWarning, match="do not draw in vscode"):
        widgets.LatentExplorer(trained["vae"], digits[1], n_points=100, use_plotly=True)
    with pytest.raises(ValueError, match="use_plotly must be True, False or None"):
        widgets.LatentExplorer(trained["vae"], digits[1], use_plotly="yes")


def test_close_closes_every_widget_of_the_explorer(digits, trained):
    explorer = widgets.LatentExplorer(trained["vae"], digits[1], n_points=100, use_plotly=True)
    inner = list(_descendants(explorer.widget))
    assert len(inner) > 10
    explorer.close()
    assert all(w.comm is None for w in inner)


def test_a_failing_constructor_starts_no_thread(digits):
    threads = threading.active_count()
    with pytest.raises(ValueError):
        widgets.BottleneckExplorer(*digits, sizes=(1, 8), start=20)
    assert threading.active_count() == threads


def test_on_a_faked_colab_explorers_train_inline_and_draw_pictures(digits, trained, monkeypatch):
    import sys
    import types
    monkeypatch.delenv("AETEACH_RETRAIN", raising=False)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert widgets.front_end() == "colab"
    explorer = widgets.RegulariserExplorer(*digits, kind="topk", bottleneck=16, fit_options=dict(epochs=2))
    assert explorer.worker.mode == "inline" and explorer.worker.thread is None and explorer.model is not None
    latent = widgets.LatentExplorer(trained["vae"], digits[1], n_points=50)
    assert not latent.use_plotly


# ---------------------------------------------------------------- true under load, bounded, no leaks, no races

def test_under_a_cpu_hog_the_explorer_ends_on_the_same_model_as_fit_on_an_idle_machine(digits):
    import subprocess
    import sys
    import torch
    train, test = digits
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        explorer = widgets.BottleneckExplorer(train, test, fit_options=dict(epochs=6), start=5)
        assert explorer.wait(120)
    finally:
        for h in hogs:
            h.kill()
    reference = ae.make_model("undercomplete", train.shape, 5)
    ae.fit(reference, train, epochs=6, progress=False)
    assert explorer.readings == dict(k=5, test_error=explorer.readings["test_error"], epochs=6, cut_short=False)
    for name, value in reference.state_dict().items():
        assert torch.equal(value, explorer.model.state_dict()[name]), name


def test_a_run_cut_short_by_its_time_budget_says_so(digits):
    explorer = widgets.BottleneckExplorer(*digits, fit_options=dict(epochs=10_000, time_budget=0.3), start=4, retrain="inline")
    assert explorer.readings["cut_short"] and explorer.readings["epochs"] < 10_000
    assert "cut short by the 0.3 s time budget" in explorer.status.value and "not the converged result" in explorer.status.value
    assert "cut short (not converged)" in explorer.fig_curve.ae["lines"]  # drawn apart from the finished sizes
    assert "undercomplete autoencoder" in explorer.fig_curve.ae["lines"]


def test_the_cache_is_bounded_and_keeps_no_gradients(digits, monkeypatch):
    monkeypatch.setattr(widgets, "CACHE_SIZE", 4)
    explorer = widgets.RegulariserExplorer(*digits, kind="topk", bottleneck=16, fit_options=dict(epochs=1), retrain="inline")
    for k in range(1, 17):
        explorer.slider.value = k
    assert list(explorer.cache) == [(("k", k),) for k in (13, 14, 15, 16)]  # least recently used dropped first
    assert len(explorer.points) == 16  # every setting tried stays on the trade-off plot (a few numbers each)
    xs, _ = explorer.fig_trade.ae["lines"]["settings tried"].get_data()
    assert len(xs) == 16
    assert all(p.grad is None for e in explorer.cache.values() for p in e["model"].parameters())
    assert not any(name in e for e in explorer.cache.values() for name in ("codes", "features"))
    explorer.slider.value = 14  # a revisit refreshes its place
    assert list(explorer.cache)[-1] == (("k", 14),) and "cached" in explorer.status.value


def test_rerunning_a_cell_closes_the_explorer_it_made_before(digits, monkeypatch):
    import gc
    import weakref
    runs = iter(range(1, 100))
    monkeypatch.setattr(widgets, "_cell_key", lambda: ("cell-id-1", next(runs)))
    alive = lambda: {t for t in threading.enumerate() if t.name == "BottleneckExplorer" and t.is_alive()}
    before, made = alive(), []
    for _ in range(20):
        explorer = widgets.BottleneckExplorer(*digits, fit_options=dict(epochs=2), start=2)
        made.append(weakref.ref(explorer))
        explorer.wait(30)
    for t in alive() - before - {explorer.worker.thread}:
        t.join(5)  # closed workers end at once
    assert alive() - before == {explorer.worker.thread}  # one live worker after 20 runs of the cell
    del explorer
    gc.collect()
    assert sum(r() is not None for r in made) == 1  # the 19 replaced explorers were freed, widgets and models too


def test_two_explorers_in_one_cell_both_live(digits, trained, monkeypatch):
    monkeypatch.setattr(widgets, "_cell_key", lambda: ("cell-id-2", 7))
    first = widgets.NoiseExplorer(trained["denoising"], digits[1])
    second = widgets.NoiseExplorer(trained["denoising"], digits[1])
    assert first.widget.comm is not None and second.widget.comm is not None


def test_a_closed_explorer_is_garbage_collected(digits, trained):
    import gc
    import weakref
    explorer = widgets.BottleneckExplorer(*digits, fit_options=dict(epochs=2), start=2)
    explorer.wait(30)
    ref = weakref.ref(explorer)
    explorer.close()
    explorer.worker.thread.join(5)
    del explorer
    gc.collect()
    assert ref() is None


def test_going_back_to_a_cached_value_while_another_trains_shows_only_the_cached_one(digits):
    explorer = widgets.BottleneckExplorer(*digits, fit_options=dict(epochs=3), start=3)
    assert explorer.wait(60)
    cached = explorer.cache[3]
    explorer.fit_options["epochs"] = 5000  # k = 30 would train for a long time
    explorer.slider.value = 30
    import time
    time.sleep(0.5)  # partial results of k = 30 are on screen now
    explorer.slider.value = 3
    assert explorer.wait(10)  # the k = 30 job was cancelled
    time.sleep(0.3)
    assert explorer.readings["k"] == 3 and explorer.images.value == cached["images"]
    assert explorer.loss_img.value == cached["loss"] and "k = 3: cached" in explorer.status.value
    assert 30 not in explorer.cache


def test_a_failed_background_job_does_not_leave_training_in_the_status(digits, monkeypatch):
    monkeypatch.setattr(widgets, "fit", lambda *a, **k: (_ for _ in ()).throw(ValueError("boom")))
    explorer = widgets.BottleneckExplorer(*digits, start=2)
    explorer.wait(30)
    assert "boom" in explorer.error.value and "training" not in explorer.status.value


@pytest.mark.parametrize("make, message", [
    (lambda d: widgets.BottleneckExplorer(*d, kind="banana"), "kind must be one of linear, undercomplete"),
    (lambda d: widgets.BottleneckExplorer(*d, kind="vae"), "compares reconstruction error with PCA"),
    (lambda d: widgets.BottleneckExplorer(*d, fit_options=dict(epochs=0)), r"fit_options\['epochs'\] must be a whole number > 0"),
    (lambda d: widgets.BottleneckExplorer(*d, fit_options=dict(time_budget=-1)), r"fit_options\['time_budget'\] must be a number > 0"),
    (lambda d: widgets.BottleneckExplorer(*d, fit_options=dict(epoch=5)), "fit_options takes epochs, time_budget"),
    (lambda d: widgets.BottleneckExplorer(*d, start=8.5), "whole numbers 1 <= sizes"),
    (lambda d: widgets.BottleneckExplorer(*d, lamda=0.1), "does not take lamda"),
    (lambda d: widgets.RegulariserExplorer(*d, bottleneck=0), "bottleneck must be a whole number >= 1"),
    (lambda d: widgets.RegulariserExplorer(*d, kind="sparse_kl", rho=2), r"rho must be in \[0.01, 0.5\]"),
    (lambda d: widgets.RegulariserExplorer(*d, lam=0.1), "lam is what the slider sets"),
    (lambda d: widgets.NoiseExplorer(ae.make_model("denoising", (1, 8, 8), 4), "digits"), "needs data as an aeteach Dataset"),
])
def test_constructors_check_their_arguments_before_anything_starts(digits, make, message):
    threads = threading.active_count()
    with pytest.raises(ValueError, match=message):
        make(digits)
    assert threading.active_count() == threads


def test_the_cell_is_told_by_its_id_or_else_by_its_source(digits, trained, monkeypatch):
    import IPython

    class Shell:  # what an ipykernel shell offers: the kernel, the request being run, its count, the inputs
        kernel, execution_count, user_ns = object(), 1, {"_ih": ["", "widgets.NoiseExplorer(m, test)"]}
        parent_header = {"metadata": {"cellId": "cell-a"}}

    shell = Shell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    first = widgets.NoiseExplorer(trained["denoising"], digits[1])
    shell.execution_count = 2  # the same cell, run again
    second = widgets.NoiseExplorer(trained["denoising"], digits[1])
    assert first.widget.comm is None and second.widget.comm is not None
    shell.parent_header, shell.execution_count = {"metadata": {}}, 3  # classic Notebook sends no cell id
    third = widgets.NoiseExplorer(trained["denoising"], digits[1])
    shell.execution_count = 4
    fourth = widgets.NoiseExplorer(trained["denoising"], digits[1])
    assert second.widget.comm is not None  # a different key: left alone
    assert third.widget.comm is None and fourth.widget.comm is not None
