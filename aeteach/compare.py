"""Every autoencoder kind trained on the same data and budget, measured with the same numbers."""
import math
import time


from . import metrics
from .data import load_dataset
from .inference import code_stats
from .models import make_model
from .train import fit

# sparse codes are usually overcomplete: the penalty, not the size, limits what they carry
SPARSE_KINDS = ("sparse_l1", "sparse_kl", "topk")
COMPARE_KINDS = ("linear", "undercomplete", "sparse_l1", "sparse_kl", "topk", "contractive", "denoising", "vae", "inpainting")
COLUMNS = ("kind", "bottleneck", "test_mse", "pca_mse", "active", "dead", "jacobian", "elbo", "seconds")


def compare(kinds=COMPARE_KINDS, dataset="digits", bottleneck=8, sparse_bottleneck=32, epochs=60, seed=0, device="auto",
            models=None):
    """Train each kind on `dataset` and return one row (dict) of measurements per kind.

    models: a dict to receive the trained models by kind, for measurements beyond the table.
    """
    unknown = [k for k in kinds if k not in COMPARE_KINDS]
    if unknown:
        raise ValueError(f"compare() takes kinds from {', '.join(COMPARE_KINDS)}; got {', '.join(unknown)}")
    train, test = load_dataset(dataset, "train"), load_dataset(dataset, "test")
    rows = []
    for kind in kinds:
        k = sparse_bottleneck if kind in SPARSE_KINDS else bottleneck
        model = make_model(kind, train.shape, k, seed=seed)
        t0 = time.perf_counter()
        fit(model, train, epochs=epochs, seed=seed, device=device, progress=False)
        seconds = time.perf_counter() - t0
        if models is not None:
            models[kind] = model
        # active: above 5% of the largest activation of ANY unit over the test set, one scale per model. Each
        # unit's own maximum would blow a unit that barely moves (stuck near 0) up to about 1: active everywhere, never dead
        stats = code_stats(model, test.x, threshold=0.05)
        rows.append(dict(
            kind=kind, bottleneck=k, seconds=seconds,
            test_mse=metrics.reconstruction_mse(model, test.x),
            pca_mse=metrics.pca_baseline(train.x, test.x, k),
            active=stats["active"], dead=stats["dead"], jacobian=stats["jacobian"],
            elbo=metrics.elbo(model, test.x) if model.config.variational else math.nan))
    return rows


def format_table(rows):
    """The rows as a fixed-width text table."""
    head = f"{'kind':14s} {'k':>3s} {'test MSE':>9s} {'PCA MSE':>9s} {'vs PCA':>7s} {'active':>7s} {'dead':>5s} {'||J||_F':>8s} {'ELBO nats':>10s} {'train s':>8s}"
    lines = [head, "-" * len(head)]
    for r in rows:
        vs = f"{r['test_mse'] / r['pca_mse']:7.2f}" if r["pca_mse"] > 1e-12 else f"{'-':>7s}"
        elbo = f"{r['elbo']:10.2f}" if not math.isnan(r["elbo"]) else f"{'-':>10s}"
        lines.append(f"{r['kind']:14s} {r['bottleneck']:3d} {r['test_mse']:9.5f} {r['pca_mse']:9.5f} {vs} "
                     f"{r['active']:7.2f} {r['dead']:5d} {r['jacobian']:8.2f} {elbo} {r['seconds']:8.2f}")
    return "\n".join(lines)
