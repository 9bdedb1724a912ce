"""Latency of the explorers, in the kernel process, from a value change to the figure's data being updated.

Side by side in one run:
  inference-only sliders (noise level, latent traversal, occlusion), aeteach's path (tile with numpy,
  encode with Pillow) against the baseline of rebuilding the same image grid as a new matplotlib figure;
  retraining sliders (bottleneck k and sparse lambda on digits, MLP): first partial result and converged model shown;
  revisiting a cached value; and the peak resident memory of the process after using every explorer.

Usage: python bench/widget_latency.py [--repeats 30]
"""
import argparse
import resource
import statistics
import time

import numpy as np

import aeteach as ae
from aeteach import inference, plots, widgets


def stats(ms):
    ms = sorted(ms)
    return statistics.median(ms), ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]


def time_updates(set_value, values, image_widget):
    """Milliseconds from each value change to the image widget holding new data (synchronous observers)."""
    out = []
    for v in values:
        before = image_widget.value
        t0 = time.perf_counter()
        set_value(v)
        assert image_widget.value != before, "the figure did not change"
        out.append(1000 * (time.perf_counter() - t0))
    return out


def time_naive(rows, repeats):
    """Baseline: build a new matplotlib figure of the same grid for every update and render it."""
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        plots.to_png(plots.image_rows(rows, row_titles=("clean", "noisy", "denoised")))
        out.append(1000 * (time.perf_counter() - t0))
    return out


def time_retraining(explorer, slider, values, done):
    """Seconds to the first partial figure and to the converged model, for each new slider value."""
    first, final = [], []
    for v in values:
        stamps = []
        watch = lambda change: stamps.append(time.perf_counter())
        explorer.images.observe(watch, names="value") if hasattr(explorer, "images") else None
        explorer.status.observe(watch, names="value")
        t0 = time.perf_counter()
        slider.value = v
        while not done(v):
            time.sleep(0.002)
        t_done = time.perf_counter()
        explorer.status.unobserve(watch, names="value")
        if hasattr(explorer, "images"):
            explorer.images.unobserve(watch, names="value")
        partial = [s for s in stamps if s > t0 + 1e-4]  # the synchronous "training ..." status is not a result
        first.append(partial[1] - t0 if len(partial) > 1 else t_done - t0)
        final.append(t_done - t0)
        explorer.wait()
    return first, final


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    n = args.repeats
    train, test = ae.load_dataset("digits"), ae.load_dataset("digits", "test")
    models = {}
    for kind, k in (("denoising", 32), ("vae", 2), ("inpainting", 32)):
        models[kind] = ae.make_model(kind, train.shape, k)
        ae.fit(models[kind], train, epochs=30, progress=False)
    rows = []

    noise = widgets.NoiseExplorer(models["denoising"], test)
    levels = np.linspace(0.05, 0.95, n)
    rows.append(("noise level (inference)", time_updates(lambda v: setattr(noise.level, "value", float(v)), levels, noise.images)))
    r = inference.denoise(models["denoising"], test.x[:6], "gaussian", 0.3)
    rows.append(("  baseline: new matplotlib figure", time_naive([r["clean"], r["noisy"], r["denoised"]], n)))

    latent = widgets.LatentExplorer(models["vae"], test)
    slider = latent.dims[0]
    values = np.linspace(slider.min, slider.max, n)
    rows.append(("latent traversal (inference)", time_updates(lambda v: setattr(slider, "value", float(v)), values, latent.traverse_img)))

    occl = widgets.OcclusionExplorer(models["inpainting"], test)
    positions = [i % 6 for i in range(1, n + 1)]
    rows.append(("occlusion position (inference)", time_updates(lambda v: setattr(occl.left, "value", v), positions, occl.images)))

    shapes = ae.load_dataset("shapes", n=300, size=32)
    seg_model = ae.make_model("segmentation", shapes.shape, 16)
    ae.fit(seg_model, shapes, epochs=2, progress=False)
    seg = widgets.SegmentationExplorer(seg_model, shapes)
    rows.append(("segmentation image (inference)", time_updates(lambda i: setattr(seg.index, "value", i), range(1, n + 1), seg.images)))

    bottle = widgets.BottleneckExplorer(train, test, start=8)
    bottle.wait()
    ks = [2, 4, 12, 16, 24, 32]
    first, final = time_retraining(bottle, bottle.slider, ks, lambda k: bottle.shown_k == k)
    retrain = [("bottleneck k: first partial (retrain)", [1000 * s for s in first]),
               ("bottleneck k: converged model shown", [1000 * s for s in final])]
    cached = time_updates(lambda k: setattr(bottle.slider, "value", k), ks * (n // len(ks) + 1), bottle.images)

    reg = widgets.RegulariserExplorer(train, test, kind="sparse_l1")
    reg.wait()
    lams = [-5.0, -4.5, -3.5, -3.0, -2.5]
    first_l, final_l = time_retraining(reg, reg.slider, lams, lambda v: reg.shown == (("lam", 10 ** v),))
    retrain += [("lambda: first partial (retrain)", [1000 * s for s in first_l]),
                ("lambda: converged model shown", [1000 * s for s in final_l])]

    import torch
    print(f"aeteach explorers on digits, torch {torch.__version__}, CPU threads {torch.get_num_threads()}; {n} updates per row")
    print(f"{'update':40s} {'median ms':>10s} {'p95 ms':>8s}")
    for name, ms in rows + retrain + [("revisit a cached k", cached)]:
        med, p95 = stats(ms)
        print(f"{name:40s} {med:10.1f} {p95:8.1f}")
    noise_med, naive_med = stats(rows[0][1])[0], stats(rows[1][1])[0]
    print(f"noise slider: aeteach is {naive_med / noise_med:.1f}x faster than rebuilding the matplotlib figure")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    print(f"peak resident memory after using every explorer: {peak:.0f} MiB (target < 1024 MiB)")


if __name__ == "__main__":
    main()
