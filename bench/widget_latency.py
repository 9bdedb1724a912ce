"""Latency of the explorers, in the kernel process, from a value change to the figure's data being updated.

Side by side in one run:
  inference-only sliders (noise level, latent traversal, occlusion), aeteach's path (tile with numpy,
  encode with Pillow) against the baseline of rebuilding the same image grid as a new matplotlib figure;
  retraining sliders (bottleneck k and sparse lambda on digits, MLP): first partial result and converged model shown;
  revisiting a cached value; and the peak resident memory of the process after using every explorer;
  each retraining explorer's converged result on an idle machine against the same beside two CPU-hog processes
  (slower, but the same numbers: explorers train a fixed number of epochs);
  with --settings N, resident memory after N settings of the sparse KL explorer (bounded by widgets.CACHE_SIZE).

Usage: python bench/widget_latency.py [--repeats 30] [--settings 1000]
"""
import argparse
import resource
import statistics
import subprocess
import sys
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


def rss_mib():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def converged_seconds(make, act, done):
    """Seconds from act() to done() on a fresh explorer, and the explorer's readings then."""
    explorer = make()
    explorer.wait()
    t0 = time.perf_counter()
    act(explorer)
    while not done(explorer):
        time.sleep(0.005)
    seconds = time.perf_counter() - t0
    readings = dict(explorer.readings)
    explorer.close()
    return seconds, readings


def load_table(train, test, denoiser):
    """Each retraining explorer's time to its converged result, idle and beside two busy processes."""
    cases = [
        ("BottleneckExplorer k 8 -> 16", lambda: widgets.BottleneckExplorer(train, test, start=8),
         lambda e: setattr(e.slider, "value", 16), lambda e: e.readings.get("k") == 16),
        ("RegulariserExplorer lambda 1e-4 -> 1e-3", lambda: widgets.RegulariserExplorer(train, test, kind="sparse_l1"),
         lambda e: setattr(e.slider, "value", -3.0), lambda e: e.readings.get("hyper") == {"lam": 10 ** -3.0}),
        ("NoiseExplorer retrain at 0.5", lambda: widgets.NoiseExplorer(denoiser, test, train=train),
         lambda e: (setattr(e.level, "value", 0.5), e.retrain.click()),
         lambda e: e.model.config.noise_level == 0.5 and "trained" in e.status.value),
    ]
    rows = []
    for name, make, act, done in cases:
        idle, r_idle = converged_seconds(make, act, done)
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
        try:
            hog, r_hog = converged_seconds(make, act, done)
        finally:
            for h in hogs:
                h.kill()
        rows.append((name, idle, hog, r_idle == r_hog))
    return rows


def memory_bound(train, test, settings):
    """Resident memory before and after `settings` different (beta, rho) settings of the sparse KL explorer."""
    explorer = widgets.RegulariserExplorer(train, test, kind="sparse_kl", fit_options=dict(epochs=1), retrain="inline")
    before = rss_mib()
    betas = np.arange(explorer.slider.min, explorer.slider.max + 1e-9, explorer.slider.step)
    rhos = np.arange(explorer.rho.min, explorer.rho.max + 1e-9, explorer.rho.step)
    done, trace = 0, {}
    for j, beta in enumerate(betas):  # each assignment below asks for one new (beta, rho) setting
        explorer.slider.value = float(beta)
        for rho in (rhos if j % 2 else rhos[::-1])[1:]:
            if done >= settings:
                break
            explorer.rho.value = float(rho)
            done += 1
            if done in (settings // 4, settings // 2, settings):
                trace[done] = rss_mib()  # flat from here on if the cache is bounded
    return dict(settings=settings, before=before, after=rss_mib(), trace=trace, cached=len(explorer.cache),
                points=len(explorer.points))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--settings", type=int, default=0, help="also measure memory after this many explorer settings (e.g. 1000)")
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
    first, final = time_retraining(bottle, bottle.slider, ks, lambda k: bottle.readings.get("k") == k)
    retrain = [("bottleneck k: first partial (retrain)", [1000 * s for s in first]),
               ("bottleneck k: converged model shown", [1000 * s for s in final])]
    cached = time_updates(lambda k: setattr(bottle.slider, "value", k), ks * (n // len(ks) + 1), bottle.images)

    reg = widgets.RegulariserExplorer(train, test, kind="sparse_l1")
    reg.wait()
    lams = [-5.0, -4.5, -3.5, -3.0, -2.5]
    first_l, final_l = time_retraining(reg, reg.slider, lams, lambda v: reg.readings.get("hyper") == {"lam": 10 ** v})
    retrain += [("lambda: first partial (retrain)", [1000 * s for s in first_l]),
                ("lambda: converged model shown", [1000 * s for s in final_l])]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    under_load = load_table(train, test, models["denoising"])
    memory = memory_bound(train, test, args.settings) if args.settings else None

    import torch
    print(f"aeteach explorers on digits, torch {torch.__version__}, CPU threads {torch.get_num_threads()}; {n} updates per row")
    print(f"{'update':40s} {'median ms':>10s} {'p95 ms':>8s}")
    for name, ms in rows + retrain + [("revisit a cached k", cached)]:
        med, p95 = stats(ms)
        print(f"{name:40s} {med:10.1f} {p95:8.1f}")
    noise_med, naive_med = stats(rows[0][1])[0], stats(rows[1][1])[0]
    print(f"noise slider: aeteach is {naive_med / noise_med:.1f}x faster than rebuilding the matplotlib figure")
    print(f"peak resident memory after using every explorer: {peak:.0f} MiB (target < 1024 MiB)")
    print()
    print("converged result shown, idle machine vs two CPU-hog processes (the same settings, one run each)")
    print(f"{'explorer':34s} {'idle s':>8s} {'hog s':>8s} {'hog/idle':>9s}  same result under load")
    for name, idle, hog, same in under_load:
        print(f"{name:34s} {idle:8.2f} {hog:8.2f} {hog / idle:9.2f}  {same}")
    if memory:
        print()
        print(f"RegulariserExplorer(sparse_kl), {memory['settings']} (beta, rho) settings at 1 epoch each: resident memory "
              f"{memory['before']:.0f} -> {memory['after']:.0f} MiB (+{memory['after'] - memory['before']:.0f}); "
              f"cache {memory['cached']} settings (CACHE_SIZE {widgets.CACHE_SIZE}), {memory['points']} trade-off points")
        print("  resident MiB after " + ", ".join(f"{n} settings: {m:.0f}" for n, m in memory["trace"].items()))


if __name__ == "__main__":
    main()
