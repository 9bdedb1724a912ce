"""Checkpoints: atomic saves, and loads that say what is wrong (device, damaged config, absurd sizes, wrong weights)."""
import os

import pytest
import torch

import aeteach as ae
from aeteach import models

SHAPE = (1, 8, 8)


def _ckpt(tmp_path, **changes):
    """A valid checkpoint with some config fields changed (None deletes one), written to tmp_path / 't.pt'."""
    path = tmp_path / "t.pt"
    ae.save(ae.make_model("sparse_kl", SHAPE, 6), path)
    ckpt = torch.load(path, weights_only=True)
    for name, value in changes.items():
        if value is None:
            del ckpt["config"][name]
        else:
            ckpt["config"][name] = value
    torch.save(ckpt, path)
    return path


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "m.pt"
    good = ae.make_model("undercomplete", SHAPE, 4, seed=1)
    ae.save(good, path)
    before = path.read_bytes()
    real_save = torch.save

    def dies_midway(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")  # what a full disk or a Ctrl-C leaves behind
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", dies_midway)
    with pytest.raises(OSError, match="No space left"):
        ae.save(ae.make_model("undercomplete", SHAPE, 4, seed=2), path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.pt"]  # no temporary file left either
    monkeypatch.setattr(torch, "save", real_save)
    x = torch.rand(3, *SHAPE)
    assert torch.equal(ae.load(path)(x), good(x))


def test_save_replaces_the_file_and_keeps_a_readable_mode(tmp_path):
    path = tmp_path / "m.pt"
    ae.save(ae.make_model("undercomplete", SHAPE, 4, seed=1), path)
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600
    ae.save(ae.make_model("undercomplete", SHAPE, 4, seed=2), path)
    assert ae.load(path).config.bottleneck == 4 and os.listdir(tmp_path) == ["m.pt"]
    with pytest.raises(ValueError, match="does not exist"):
        ae.save(ae.make_model("undercomplete", SHAPE, 4), tmp_path / "no" / "m.pt")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_loading_onto_a_missing_gpu_says_so(tmp_path):
    path = tmp_path / "m.pt"
    ae.save(ae.make_model("vae", SHAPE, 2), path)
    with pytest.raises(ValueError, match="CUDA is not available here; use 'auto' or 'cpu'") as info:
        ae.load(path, device="cuda")
    assert "not an aeteach checkpoint" not in str(info.value)


def test_loading_goes_through_the_cpu_safely(tmp_path, monkeypatch):
    seen = {}
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    # pretend this machine has the device asked for ('meta' stands in for a GPU): the file is still read onto
    # the CPU, and only the built model moves, so a checkpoint from any machine loads on any other
    monkeypatch.setattr(models, "choose_device", lambda device: torch.device("meta"))
    path = tmp_path / "m.pt"
    ae.save(ae.make_model("vae", SHAPE, 2), path)
    model = ae.load(path, device="cuda")
    assert seen == {"map_location": "cpu", "weights_only": True}  # safe loading, never straight onto a device
    assert next(model.parameters()).device.type == "meta"


@pytest.mark.parametrize("changes, message", [
    (dict(kind=None), "damaged config: it lacks kind"),
    (dict(bottleneck=None), "damaged config: it lacks bottleneck"),
    (dict(extra=1), "has unknown fields extra"),
    (dict(kind="wobbly"), "config that is not valid: kind must be one of"),
    (dict(rho=2.0), r"config that is not valid: rho must be a finite number > 0 and < 1, got 2.0"),
    (dict(hidden="abc"), "config that is not valid: hidden must be a tuple of whole numbers >= 1, got .abc."),
    (dict(input_shape=(1, 8)), "config that is not valid: input_shape must be"),
    (dict(bottleneck=10**12), "config that is not valid: this model would have .* over the limit"),
    (dict(hidden=(10**9,)), "config that is not valid: this model would have .* over the limit"),
    (dict(bottleneck=7), "weights that do not fit its config"),
])
def test_a_damaged_checkpoint_is_a_value_error_naming_the_problem(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        ae.load(_ckpt(tmp_path, **changes))


def test_missing_file_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        ae.load(tmp_path / "nothing.pt")
    torch.save({"format": models.FORMAT, "config": [], "state_dict": {}}, tmp_path / "odd.pt")
    with pytest.raises(ValueError, match="needs a 'config' dict and a 'state_dict' dict"):
        ae.load(tmp_path / "odd.pt")


def test_a_loaded_model_keeps_its_trained_output_layer(tmp_path):
    model = ae.make_model("undercomplete", (1, 12, 12), 4, arch="conv")
    ae.save(model, tmp_path / "m.pt")
    loaded = ae.load(tmp_path / "m.pt")
    assert loaded.output_started  # fine-tuning a loaded model must not reset its output bias
    bias = loaded.decoder[-1].bias.clone()
    loaded.loss_terms(torch.rand(4, 1, 12, 12))
    assert torch.equal(loaded.decoder[-1].bias, bias)
