"""The command line and the comparison table."""
import math

import pytest

from aeteach import compare
from aeteach.__main__ import main


def test_compare_rows_hold_real_measurements():
    import aeteach as ae
    models = {}
    rows = compare.compare(["linear", "undercomplete", "vae"], epochs=30, models=models)
    by_kind = {r["kind"]: r for r in rows}
    assert by_kind["linear"]["test_mse"] >= 0.99 * by_kind["linear"]["pca_mse"]  # nothing linear beats PCA
    assert by_kind["undercomplete"]["test_mse"] < by_kind["linear"]["test_mse"]
    # the ELBO column is the trained VAE's test ELBO, well above an untrained one's (a Bernoulli ELBO is always
    # negative, so its sign proves nothing), and empty for kinds without a likelihood
    test = ae.load_dataset("digits", "test")
    untrained = ae.metrics.elbo(ae.make_model("vae", test.shape, 8, seed=0), test.x)
    assert by_kind["vae"]["elbo"] == pytest.approx(ae.metrics.elbo(models["vae"], test.x), rel=0.02)
    assert by_kind["vae"]["elbo"] > untrained + 5 and math.isnan(by_kind["linear"]["elbo"])
    table = compare.format_table(rows)
    assert table.count("\n") == 4 and "ELBO nats" in table


def test_cli_compare_prints_the_table(capsys):
    assert main(["compare", "--kinds", "undercomplete", "topk", "--epochs", "5"]) == 0
    out = capsys.readouterr().out
    assert "undercomplete" in out and "topk" in out and "PCA MSE" in out


def test_cli_train_saves_a_loadable_checkpoint(tmp_path, capsys):
    import aeteach as ae
    path = tmp_path / "vae.pt"
    assert main(["train", "vae", "--epochs", "2", "--out", str(path)]) == 0
    assert ae.load(path).config.kind == "vae"


def test_cli_bad_value_is_a_clear_error(capsys):
    assert main(["compare", "--bottleneck", "0"]) == 2
    assert "bottleneck must be a whole number >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compare", "--kinds", "wobbly"])



@pytest.mark.parametrize("out, message", [
    ("model.txt", "--out must end in .pt or .pth, got 'model.txt'"),
    ("missing/model.pt", "the folder 'missing' does not exist"),
    ("folder.pt", "is a folder; give a file name"),
])
def test_cli_train_checks_out_before_training(tmp_path, monkeypatch, capsys, out, message):
    import aeteach.__main__ as cli
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.pt").mkdir()
    monkeypatch.setattr(cli, "fit", lambda *a, **k: pytest.fail("trained before checking --out"))
    assert main(["train", "undercomplete", "--epochs", "1", "--out", out]) == 2
    assert message in capsys.readouterr().err


def test_cli_train_refuses_a_folder_it_cannot_write(tmp_path, monkeypatch, capsys):
    import tempfile
    import aeteach.__main__ as cli

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)  # root ignores permission bits: imitate a read-only disk
    monkeypatch.setattr(cli, "fit", lambda *a, **k: pytest.fail("trained before checking --out"))
    assert main(["train", "undercomplete", "--out", str(tmp_path / "m.pt")]) == 2
    err = capsys.readouterr().err
    assert "cannot write in" in err and "Permission denied" in err
