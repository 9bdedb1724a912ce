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
    explorer = widgets.BottleneckExplorer(*digits, epochs=8, time_budget=2.0, start=4)
    assert explorer.wait(60)
    assert explorer.shown_k == 4 and explorer.model.config.bottleneck == 4
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
    explorer = widgets.BottleneckExplorer(*digits, epochs=8, time_budget=2.0, start=1)
    for k in range(2, 22):
        explorer.slider.value = k
    assert _workers("BottleneckExplorer") == before + 1  # one worker, however many values
    assert explorer.wait(90)
    assert explorer.shown_k == 21 and explorer.model.config.bottleneck == 21
    assert 21 in explorer.cache and len(explorer.cache) < 20  # superseded values were cancelled, not all trained
    explorer.close()
    explorer.worker.thread.join(5)
    assert _workers("BottleneckExplorer") == before


def test_revisiting_a_cached_value_is_instant_and_trains_nothing(digits):
    explorer = widgets.BottleneckExplorer(*digits, epochs=5, time_budget=2.0, start=3)
    explorer.wait(60)
    explorer.slider.value = 5
    explorer.wait(60)
    cached_model = explorer.cache[3]["model"]
    explorer.slider.value = 3  # synchronous: no worker involved
    assert explorer.model is cached_model and "cached" in explorer.status.value


def test_regulariser_explorer_adds_a_tradeoff_point_per_setting(digits):
    explorer = widgets.RegulariserExplorer(*digits, kind="sparse_l1", bottleneck=32, epochs=5, time_budget=2.0)
    explorer.wait(60)
    explorer.slider.value = -2.0
    explorer.wait(60)
    assert set(explorer.cache) == {(("lam", 1e-4),), (("lam", 1e-2),)}
    weak, strong = explorer.cache[(("lam", 1e-4),)], explorer.cache[(("lam", 1e-2),)]
    assert strong["active"] < weak["active"]
    xs, _ = explorer.fig_trade.ae["lines"]["settings tried"].get_data()
    assert len(xs) == 2 and "dead units" in explorer.numbers.value


def test_topk_explorer_slider_sets_k(digits):
    explorer = widgets.RegulariserExplorer(*digits, kind="topk", bottleneck=32, epochs=3, time_budget=1.0)
    explorer.slider.value = 3
    explorer.wait(60)
    assert explorer.model.config.k == 3


def test_noise_explorer_updates_psnr_at_once(digits, trained):
    _, test = digits
    explorer = widgets.NoiseExplorer(trained["denoising"], test)
    low, image = explorer.psnr, explorer.images.value
    explorer.level.value = 0.6
    assert explorer.psnr[0] < low[0] and explorer.images.value != image
    assert f"{explorer.psnr[0]:.2f} dB" in explorer.readout.value
    explorer.kind.value = "salt_pepper"
    assert "salt" not in explorer.error.value and explorer.psnr != low


def test_noise_explorer_retrains_for_a_new_level(digits, trained):
    train, test = digits
    explorer = widgets.NoiseExplorer(trained["denoising"], test, train=train, epochs=3, time_budget=1.0)
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
    first = explorer.psnr
    explorer.left.value = 7  # a 3-pixel block at column 7 would leave the 8-pixel image: it is clamped
    assert explorer.psnr != first and not explorer.error.value


def test_segmentation_explorer_shows_noisy_input_and_iou():
    data = ae.load_dataset("shapes", n=200, size=16)
    model = ae.make_model("segmentation", data.shape, 8, channels=(8, 16))
    ae.fit(model, data, epochs=8, batch_size=32, progress=False)
    explorer = widgets.SegmentationExplorer(model, data)
    image = explorer.images.value
    explorer.noise.value = 0.5
    assert explorer.images.value != image and 0 <= explorer.iou <= 1
    explorer.index.value = 3
    assert f"{explorer.iou:.3f}" in explorer.readout.value and not explorer.error.value


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
                 widgets.BottleneckExplorer(*digits, epochs=2, start=2, retrain="inline")]
    for explorer in explorers:
        assert not [w for w in _descendants(explorer.widget) if isinstance(w, W.Output)], type(explorer).__name__


def test_inline_mode_trains_in_the_callback_and_sends_partial_results_from_it(digits):
    threads = threading.active_count()
    explorer = widgets.BottleneckExplorer(*digits, epochs=6, start=3, retrain="inline")
    assert explorer.worker.mode == "inline" and explorer.worker.thread is None
    assert explorer.shown_k == 3  # trained before the constructor returned
    shown = []
    explorer.images.observe(lambda change: shown.append(threading.current_thread().name), names="value")
    explorer.slider.value = 9  # returns only when k = 9 is trained
    assert explorer.shown_k == 9 and explorer.model.config.bottleneck == 9 and "k = 9: trained" in explorer.status.value
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
    explorer = widgets.RegulariserExplorer(*digits, kind="topk", bottleneck=16, epochs=2)
    assert explorer.worker.mode == "inline" and explorer.worker.thread is None and explorer.model is not None
    latent = widgets.LatentExplorer(trained["vae"], digits[1], n_points=50)
    assert not latent.use_plotly
