"""Train the small pretrained models that notebooks 06 and 07 load, and record how they were trained.

Each notebook trains one model live, so students see training happen, and loads the others from
aeteach/datafiles/NAME.pt (written by aeteach.save, read by aeteach.load with torch.load(weights_only=True)).
This script is the recipe: the same data, model, fit() settings and seed the notebook states, on the CPU with
one torch thread, so it is deterministic on a given torch build. It writes the checkpoints and
aeteach/datafiles/checkpoints.json, which records for each one its recipe, the torch version, the CPU seconds
training took, the file's SHA-256, the test loss after every epoch (the notebooks plot it) and the score the
notebook reports (tests/test_pretrained.py recomputes the score from the shipped file, and with -m slow retrains).

Usage:
    python scripts/train_checkpoints.py                  # all of them (about 1.5 CPU minutes)
    python scripts/train_checkpoints.py segment_noskip   # just one
    python scripts/train_checkpoints.py --check          # retrain in memory and compare with the record; writes nothing
"""
import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import torch

import aeteach as ae
from aeteach import metrics

DATAFILES = Path(__file__).resolve().parent.parent / "aeteach" / "datafiles"
RECORD = DATAFILES / "checkpoints.json"

# 06: one U-Net denoiser per noise level, trained on photo patches (the camera photo is the test image)
DENOISER = dict(kind="denoising", data=dict(name="photo_patches", n=2000, size=16),
                test=dict(name="photo_patches", split="test", n=300, size=16),
                model=dict(bottleneck=16, arch="unet", channels=[16, 16]), fit=dict(epochs=12, batch_size=32))
# 07: the segmenter without skip connections; the notebook trains the one with skips live with the same settings
SEGMENTER = dict(kind="segmentation", data=dict(name="shapes", n=600, size=16),
                 test=dict(name="shapes", split="test", n=300, size=16),
                 model=dict(bottleneck=4, channels=[8, 16]), fit=dict(epochs=20, batch_size=16, lr=5e-3))


def _with(recipe, **model):
    return {**recipe, "model": {**recipe["model"], **model}, "seed": 0}


RECIPES = {
    "denoise_sigma0.1": dict(_with(DENOISER, noise_level=0.1), notebook="06_app_image_denoising"),
    "denoise_sigma0.2": dict(_with(DENOISER, noise_level=0.2), notebook="06_app_image_denoising"),
    "denoise_sigma0.3": dict(_with(DENOISER, noise_level=0.3), notebook="06_app_image_denoising"),
    "segment_noskip": dict(_with(SEGMENTER, skip=False), notebook="07_app_segmentation"),
}


def load_data(spec, seed=0):
    spec = dict(spec)
    return ae.load_dataset(spec.pop("name"), spec.pop("split", "train"), seed=seed, **spec)


def build(recipe):
    """The untrained model of a recipe, seeded."""
    train = load_data(recipe["data"])
    m = dict(recipe["model"])
    if "channels" in m:
        m["channels"] = tuple(m["channels"])
    return ae.make_model(recipe["kind"], train.shape, m.pop("bottleneck"), arch=m.pop("arch", None),
                         seed=recipe["seed"], **m)


def score(model, recipe):
    """The number the notebook reports for this model: PSNR (dB) on the camera photo, or mean IoU on the test masks."""
    model = model.cpu().eval()
    with torch.no_grad():
        if recipe["kind"] == "denoising":
            photo = ae.load_photo("camera", size=256)
            sigma = recipe["model"]["noise_level"]
            noisy = ae.corrupt(photo, "gaussian", sigma, generator=torch.Generator().manual_seed(0))
            return {"camera_psnr_db": round(metrics.psnr(photo, model(noisy)), 4)}
        test = load_data(recipe["test"])
        pred = model(test.x).argmax(1)
        return {"test_mean_iou": round(metrics.mean_iou(pred, test.y, model.config.n_classes), 4)}


def train(recipe):
    """(trained model on the CPU, History, CPU seconds): fit() exactly as the notebook calls it."""
    torch.set_num_threads(1)
    train_data, test_data = load_data(recipe["data"]), load_data(recipe["test"])
    model = build(recipe)
    t0 = time.process_time()
    history = ae.fit(model, train_data, test_data, device="cpu", progress=False, seed=recipe["seed"], **recipe["fit"])
    return model.cpu().eval(), history, time.process_time() - t0


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"which to train (default: all): {', '.join(RECIPES)}")
    parser.add_argument("--check", action="store_true", help="retrain and compare scores with the record; write nothing")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(RECIPES)
    if unknown:
        parser.error(f"unknown checkpoints {sorted(unknown)}; known: {', '.join(RECIPES)}")
    record = json.loads(RECORD.read_text()) if RECORD.exists() else {}
    ok = True
    for name in args.names or RECIPES:
        recipe = RECIPES[name]
        model, history, cpu = train(recipe)
        scores = score(model, recipe)
        if args.check:
            shipped = record.get(name, {}).get("score", {})
            print(f"{name}: retrained {scores}, recorded {shipped}")
            ok &= all(abs(v - shipped.get(k, float("nan"))) <= 0.02 * max(1.0, abs(v)) for k, v in scores.items())
            continue
        path = DATAFILES / f"{name}.pt"
        ae.save(model, path)
        record[name] = {"recipe": recipe, "score": scores,
                        "test_recon_per_epoch": [round(float(v), 6) for v in history.test["recon"]],
                        "torch": torch.__version__, "threads": 1, "device": "cpu", "cpu_seconds": round(cpu, 1),
                        "bytes": path.stat().st_size, "sha256": sha256(path)}
        print(f"{name}: {scores}, {cpu:.1f} CPU s, {path.stat().st_size / 1024:.0f} KiB", flush=True)
    if not args.check:
        RECORD.write_text(json.dumps(record, indent=1) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
