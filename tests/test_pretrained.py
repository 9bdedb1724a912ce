"""The pretrained models notebooks 06 and 07 load: small, safe to load, of the current recipe, scoring what their record
says; with -m slow, retraining each recipe reproduces its recorded score."""
import hashlib
import importlib.util
import json
from fnmatch import fnmatch
from pathlib import Path

import pytest
import torch

import aeteach as ae

ROOT = Path(__file__).resolve().parent.parent
DATAFILES = ROOT / "aeteach" / "datafiles"
RECORD = json.loads((DATAFILES / "checkpoints.json").read_text())
TOLERANCE = {"camera_psnr_db": 0.2, "test_mean_iou": 0.02}  # for retraining (another torch build may round differently)


def _script():
    spec = importlib.util.spec_from_file_location("train_checkpoints", ROOT / "scripts" / "train_checkpoints.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _script()


def test_every_recipe_is_shipped_recorded_and_packaged():
    assert set(RECORD) == set(SCRIPT.RECIPES)
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["aeteach"]
    for name in RECORD:
        for file in (f"datafiles/{name}.pt", "datafiles/checkpoints.json"):
            assert any(fnmatch(file, p) for p in patterns), f"{file} would not be installed"


@pytest.mark.parametrize("name", sorted(RECORD))
def test_shipped_checkpoint_matches_its_record(name):
    entry, path = RECORD[name], DATAFILES / f"{name}.pt"
    assert path.stat().st_size < 1_000_000
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    assert entry["recipe"] == json.loads(json.dumps(SCRIPT.RECIPES[name])), "the recipe changed: rerun the script"
    torch.load(path, weights_only=True)  # plain tensors and containers, nothing that runs code on load
    model = ae.load(path)
    assert model.config == SCRIPT.build(entry["recipe"]).config
    assert SCRIPT.score(model, entry["recipe"]) == pytest.approx(entry["score"], abs=1e-3)
    assert len(entry["test_recon_per_epoch"]) == entry["recipe"]["fit"]["epochs"]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RECORD))
def test_retraining_reproduces_the_recorded_score(name, request):
    if "slow" not in (request.config.option.markexpr or ""):
        pytest.skip("long: retrains a checkpoint (run with -m slow)")
    threads = torch.get_num_threads()
    try:
        model, history, _ = SCRIPT.train(SCRIPT.RECIPES[name])
    finally:
        torch.set_num_threads(threads)
    for key, value in SCRIPT.score(model, RECORD[name]["recipe"]).items():
        assert abs(value - RECORD[name]["score"][key]) <= TOLERANCE[key], key
