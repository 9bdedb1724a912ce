"""Datasets as float32 (N, C, H, W) tensors in [0, 1], and the corruptions a denoising autoencoder undoes."""
from __future__ import annotations

import functools
import importlib.resources
import numbers
import os
import tempfile
import urllib.error
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

DATASETS = ("digits", "mnist5k", "mnist", "fashion_mnist", "shapes", "photo_patches")
SPLITS = ("train", "test")
SHAPE_CLASSES = ("background", "circle", "square", "triangle")
DIGIT_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
# photo_patches: train and test patches come from different photographs, so test error measures generalisation
TRAIN_PHOTOS = ("astronaut", "chelsea", "rocket", "moon", "coins", "brick", "grass", "gravel", "clock", "text", "page")
TEST_PHOTOS = ("camera", "coffee")
PHOTOS = TEST_PHOTOS + TRAIN_PHOTOS
_OPENML = {"mnist": ("mnist_784", DIGIT_CLASSES), "fashion_mnist": ("Fashion-MNIST", FASHION_CLASSES)}
_OPTIONS = {"digits": {}, "mnist5k": {}, "mnist": {"cache_dir": None}, "fashion_mnist": {"cache_dir": None},
            "shapes": {"size": 32}, "photo_patches": {"size": 32}}
_DEFAULT_N = {"shapes": (2000, 500), "photo_patches": (4000, 1000)}  # (train, test)
# mnist5k: 5000 real MNIST digits embedded in the package (aeteach/datafiles/PROVENANCE.md says where from);
# the checksum is what the tests compare the installed file with, not something loading checks
MNIST5K_SHA256 = "2b822963468e45a12a947f8310c9492cdd711062ccf2bf1ca1a672a9bc124eb4"
_MNIST5K_SHAPES = {"x_train": (4000, 28, 28), "y_train": (4000,), "x_test": (1000, 28, 28), "y_test": (1000,)}


class DatasetUnavailable(RuntimeError):
    """A dataset that needs a download could not be fetched (or an embedded one is missing from the install)."""


@dataclass
class Dataset:
    """Images x (N, C, H, W) in [0, 1], optional labels or masks y, and class names."""
    x: torch.Tensor
    y: torch.Tensor | None
    name: str
    classes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.x.shape[1:])

    def subset(self, n: int, seed: int = 0) -> "Dataset":
        """The first n items of a seeded random permutation."""
        _check_int("n", n, 1, len(self))
        idx = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n]
        y = None if self.y is None else self.y[idx.to(self.y.device)]
        return Dataset(self.x[idx.to(self.x.device)], y, self.name, self.classes)

    def to(self, device) -> "Dataset":
        """A copy with x and y on `device`."""
        y = None if self.y is None else self.y.to(device)
        return Dataset(self.x.to(device), y, self.name, self.classes)


def load_dataset(name: str, split: str = "train", n: int | None = None, seed: int = 0, **options) -> Dataset:
    """Load dataset `name` (see DATASETS) as a Dataset; n items (default: all, or the generator's default)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    valid = _OPTIONS[name]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(unknown)} for dataset {name!r}; "
                        f"valid options: {', '.join(valid) or 'none'}")
    opts = {**valid, **options}
    if n is not None:
        _check_int("n", n, 1, None)
    if name in _DEFAULT_N:
        # generated on the fly: n is how many to make, and the first k of n are the same for any n >= k
        n = _DEFAULT_N[name][split == "test"] if n is None else n
        make = make_shapes if name == "shapes" else make_photo_patches
        return make(n, opts["size"], seed, split)
    if name == "digits":
        data = _load_digits(split)
    elif name == "mnist5k":
        data = _load_mnist5k(split)
    else:
        data = _load_openml(name, split, opts["cache_dir"])
    return data if n is None else data.subset(n, seed)


# ---------------------------------------------------------------- digits (embedded in scikit-learn)

@functools.lru_cache(maxsize=None)
def _digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    # the split ignores `seed` on purpose: everyone shares one test set
    return train_test_split(d.images, d.target, test_size=0.2, random_state=0, stratify=d.target)


def _load_digits(split: str) -> Dataset:
    x_tr, x_te, y_tr, y_te = _digits_split()
    x, y = (x_tr, y_tr) if split == "train" else (x_te, y_te)
    x = torch.from_numpy(x / 16.0).float().unsqueeze(1)  # (N, 1, 8, 8)
    return Dataset(x, torch.tensor(y, dtype=torch.int64), "digits", DIGIT_CLASSES)  # a copy: the split is cached


# ---------------------------------------------------------------- mnist5k (5000 real MNIST digits, embedded)

def mnist5k_file():
    """The embedded aeteach/datafiles/mnist5k.npz (uint8 x_train, y_train, x_test, y_test), as installed."""
    return importlib.resources.files("aeteach") / "datafiles" / "mnist5k.npz"


@functools.lru_cache(maxsize=None)
def _mnist5k_arrays() -> dict[str, np.ndarray]:
    path = mnist5k_file()
    try:
        with path.open("rb") as fh, np.load(fh) as f:
            arrays = {k: f[k] for k in _MNIST5K_SHAPES}
    except (OSError, KeyError, ValueError) as e:
        raise DatasetUnavailable(
            f"the embedded MNIST subset {path} is missing or unreadable ({type(e).__name__}: {e}); it ships inside "
            f"the aeteach package, so reinstall aeteach (pip install --force-reinstall ...)") from e
    for k, shape in _MNIST5K_SHAPES.items():
        if arrays[k].dtype != np.uint8 or arrays[k].shape != shape:
            raise DatasetUnavailable(f"the embedded MNIST subset {path} is damaged: {k} is {arrays[k].dtype} "
                                     f"{arrays[k].shape}, expected uint8 {shape}; reinstall aeteach")
        arrays[k].flags.writeable = False  # cached: shared by every call
    return arrays


def _load_mnist5k(split: str) -> Dataset:
    # the split is fixed in the file (400 train / 100 test per digit) and ignores `seed`, like digits
    a = _mnist5k_arrays()
    x = torch.from_numpy(a[f"x_{split}"].astype(np.float32)).div_(255.0).unsqueeze(1)  # (N, 1, 28, 28), a copy
    return Dataset(x, torch.from_numpy(a[f"y_{split}"].astype(np.int64)), "mnist5k", DIGIT_CLASSES)


# ---------------------------------------------------------------- MNIST / Fashion-MNIST (downloaded once)

def default_cache_dir() -> Path:
    """Where downloads are cached: $AETEACH_DATA, else ~/.cache/aeteach."""
    return Path(os.environ.get("AETEACH_DATA") or Path.home() / ".cache" / "aeteach")


def cache_file(name: str, cache_dir=None) -> Path:
    """The .npz holding x_train, y_train, x_test, y_test (uint8 (N, 28, 28), int64 (N,)) for `name`."""
    return Path(cache_dir or default_cache_dir()) / f"{name}.npz"


def _load_openml(name: str, split: str, cache_dir) -> Dataset:
    path = cache_file(name, cache_dir)
    if not path.exists():
        _download_openml(name, path)
    with np.load(path) as f:
        x, y = f[f"x_{split}"], f[f"y_{split}"]
    x = torch.from_numpy(x).float().div_(255.0).unsqueeze(1)  # (N, 1, 28, 28)
    return Dataset(x, torch.from_numpy(y).long(), name, _OPENML[name][1])


def _download_openml(name: str, path: Path) -> None:
    from sklearn.datasets import fetch_openml
    try:
        import pandas  # noqa: F401  the fast parser needs pandas; liac-arff is pure Python but slow
        parser = "auto"
    except ImportError:
        parser = "liac-arff"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        bunch = fetch_openml(_OPENML[name][0], version=1, as_frame=False, parser=parser,
                             data_home=str(path.parent / "openml"))
    except (urllib.error.URLError, OSError, ConnectionError) as e:
        raise DatasetUnavailable(
            f"could not download {name!r} from OpenML ({type(e).__name__}: {e}); it is cached in {path} once "
            f"downloaded (set AETEACH_DATA or cache_dir to change where). Offline, use 'mnist5k' (5000 real "
            f"28x28 MNIST digits, embedded), or 'digits', 'shapes' or 'photo_patches', which need no download.") from e
    x = np.asarray(bunch.data).reshape(-1, 28, 28).astype(np.uint8)
    y = np.asarray(bunch.target).astype(np.int64)
    # write then rename, so an interrupted save never leaves a broken cache
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:  # standard split: first 60000 train, last 10000 test
            np.savez(f, x_train=x[:60000], y_train=y[:60000], x_test=x[60000:], y_test=y[60000:])
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# ---------------------------------------------------------------- shapes (procedural segmentation)

def _rng(seed: int, split: str, stream: int) -> np.random.Generator:
    # train and test (and each stream) are independent streams of the same seed, so they never coincide
    return np.random.default_rng([seed, SPLITS.index(split), stream])


def make_shapes(n: int, size: int = 32, seed: int = 0, split: str = "train") -> Dataset:
    """n grey images with 1-3 circles, squares, triangles; y is the (N, H, W) mask 0=bg 1=circle 2=square 3=triangle."""
    _check_int("n", n, 1, None)
    _check_int("size", size, 16, 512)
    if size % 4:
        raise ValueError(f"size must be a multiple of 4 in [16, 512], got {size}")
    # one (n, k) draw per stream keeps image i the same whatever n is
    u = _rng(seed, split, 0).random((n, 23), dtype=np.float32)
    noise = _rng(seed, split, 1).standard_normal((n, size, size), dtype=np.float32) * 0.04
    # small chunks keep the (B, H, W) temporaries in cache, which is faster than one pass over all n
    parts = [_paint_shapes(u[i:i + 64], size) for i in range(0, n, 64)]
    img, mask = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    x = torch.from_numpy(np.clip(img + noise, 0, 1)).unsqueeze(1)  # (N, 1, H, W)
    return Dataset(x, torch.from_numpy(mask), "shapes", SHAPE_CLASSES)


def _paint_shapes(u: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free images (B, H, W) and masks (B, H, W) from uniform parameters u (B, 23)."""
    q = size // 2  # shapes sit in distinct quadrants of side q, so they never overlap
    centres = np.arange(size, dtype=np.float32) + 0.5
    yy, xx = np.meshgrid(centres, centres, indexing="ij")
    yy, xx = yy[None], xx[None]  # (1, H, W)
    col = lambda v: v[:, None, None]  # (B,) -> (B, 1, 1)
    # background: level in [0.1, 0.3] plus a linear ramp of up to +-0.2 corner to corner
    img = col(0.1 + 0.2 * u[:, 0]) + 0.1 * (col(2 * u[:, 1] - 1) * (2 * xx / size - 1)
                                           + col(2 * u[:, 2] - 1) * (2 * yy / size - 1))
    mask = np.zeros(img.shape, dtype=np.int64)
    count = 1 + np.minimum(u[:, 3] * 3, 2).astype(int)  # 1..3 shapes
    quadrant = np.argsort(u[:, 4:8], axis=1)  # a random order of the 4 quadrants
    for k in range(3):
        s = u[:, 8 + 5 * k: 13 + 5 * k]
        cls = 1 + np.minimum(s[:, 0] * 3, 2).astype(int)
        r = size * (0.125 + 0.0625 * s[:, 1])  # "radius" in [size/8, 3 size/16]; triangles reach 1.3 r < q/2
        ext = np.where(cls == 3, 1.3 * r, r)  # half the bounding box
        cy = quadrant[:, k] // 2 * q + ext + s[:, 2] * (q - 2 * ext)
        cx = quadrant[:, k] % 2 * q + ext + s[:, 3] * (q - 2 * ext)
        dy, dx, r = yy - col(cy), xx - col(cx), col(r)
        circle = dy ** 2 + dx ** 2 <= r ** 2
        half = 0.886 * r  # sqrt(pi)/2: same area as the circle
        square = (np.abs(dy) <= half) & (np.abs(dx) <= half)
        R = 1.3 * r  # circumradius of an upright equilateral triangle
        triangle = (dy <= R / 2) & (np.abs(dx) <= (dy + R) / np.sqrt(3))
        inside = np.select([col(cls) == 1, col(cls) == 2], [circle, square], triangle) & col(k < count)
        # same intensity range for every class: the network must tell them apart by shape
        img = np.where(inside, col(0.6 + 0.4 * s[:, 4]), img)
        mask = np.where(inside, col(cls), mask)
    return img.astype(np.float32), mask


# ---------------------------------------------------------------- photographs (shipped with scikit-image)

@functools.lru_cache(maxsize=None)
def _grey_photo(name: str) -> np.ndarray:
    import skimage.color
    import skimage.data
    img = getattr(skimage.data, name)()
    if img.ndim == 3:
        return skimage.color.rgb2gray(img[..., :3]).astype(np.float32)
    return (img / 255.0).astype(np.float32)


def load_photo(name: str = "camera", size: int | None = None) -> torch.Tensor:
    """A whole grey photograph from scikit-image as a (1, 1, H, W) tensor, optionally resized to size x size."""
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; valid names: {', '.join(PHOTOS)}")
    img = _grey_photo(name)
    if size is not None:
        import skimage.transform
        _check_int("size", size, 8, 1024)
        img = skimage.transform.resize(img, (size, size), anti_aliasing=True).astype(np.float32)
    return torch.from_numpy(np.clip(img, 0, 1).copy())[None, None]


def make_photo_patches(n: int, size: int = 32, seed: int = 0, split: str = "train") -> Dataset:
    """n random size x size grey patches; train from TRAIN_PHOTOS, test from TEST_PHOTOS (camera, coffee)."""
    _check_int("n", n, 1, None)
    _check_int("size", size, 4, 128)  # 'text', the smallest photo, is 172 pixels high
    photos = [_grey_photo(p) for p in (TRAIN_PHOTOS if split == "train" else TEST_PHOTOS)]
    u = _rng(seed, split, 2).random((n, 3))
    which = (u[:, 0] * len(photos)).astype(int)
    x = np.empty((n, size, size), dtype=np.float32)
    for i, (w, a, b) in enumerate(zip(which, u[:, 1], u[:, 2])):
        img = photos[w]
        top, left = int(a * (img.shape[0] - size + 1)), int(b * (img.shape[1] - size + 1))
        x[i] = img[top:top + size, left:left + size]
    return Dataset(torch.from_numpy(x).clamp_(0, 1).unsqueeze(1), None, "photo_patches")


# ---------------------------------------------------------------- corruptions (pure: new tensor out, input untouched)

NOISE_RANGES = {"gaussian": (0.0, 1.0), "salt_pepper": (0.0, 1.0), "masking": (0.0, 1.0)}


def _check_int(name, value, lo, hi):
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not is_int or value < lo or (hi is not None and value > hi):
        allowed = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def _check_real(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not lo <= value <= hi:
        raise ValueError(f"{name} must be in [{lo:g}, {hi:g}], got {value!r}")
    return float(value)


def _check_images(x):
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() != 4:
        what = f"{x.dtype} tensor of shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a floating tensor of shape (N, C, H, W), got {what}")


def _rand(shape, x, generator, normal=False):
    # draw on the generator's device (a CPU generator gives the same numbers for a CUDA x), then move
    device = generator.device if generator is not None else x.device
    draw = torch.randn if normal else torch.rand
    return draw(shape, generator=generator, device=device, dtype=x.dtype).to(x.device)


def gaussian_noise(x, sigma, generator=None) -> torch.Tensor:
    """x + sigma * N(0, 1), clamped to [0, 1]."""
    _check_images(x)
    sigma = _check_real("sigma", sigma, *NOISE_RANGES["gaussian"])
    return (x + sigma * _rand(x.shape, x, generator, normal=True)).clamp(0, 1)


def salt_and_pepper(x, p, generator=None) -> torch.Tensor:
    """A fraction p of pixels set to 0 (half of them) or 1 (the other half)."""
    _check_images(x)
    p = _check_real("p", p, *NOISE_RANGES["salt_pepper"])
    u = _rand(x.shape, x, generator)
    out = torch.where(u < p / 2, torch.zeros_like(x), x)
    return torch.where((u >= p / 2) & (u < p), torch.ones_like(x), out)


def masking_noise(x, p, generator=None) -> torch.Tensor:
    """A fraction p of pixels set to 0 (the 'dropout' corruption of Vincent et al. 2008)."""
    _check_images(x)
    p = _check_real("p", p, *NOISE_RANGES["masking"])
    return torch.where(_rand(x.shape, x, generator) < p, torch.zeros_like(x), x)


def block_occlusion(x, size, position=None, fill=0.0, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
    """A size x size block set to `fill` at position=(top, left), or at random per image; returns (occluded, mask)."""
    _check_images(x)
    N, _, H, W = x.shape
    _check_int("size", size, 1, min(H, W))
    fill = _check_real("fill", fill, 0.0, 1.0)
    if position is None:
        top = (_rand((N,), x, generator) * (H - size + 1)).long().clamp_(max=H - size)
        left = (_rand((N,), x, generator) * (W - size + 1)).long().clamp_(max=W - size)
    else:
        if len(position) != 2:
            raise ValueError(f"position must be (top, left), got {position!r}")
        _check_int("top", position[0], 0, H - size)
        _check_int("left", position[1], 0, W - size)
        top = torch.full((N,), position[0], device=x.device)
        left = torch.full((N,), position[1], device=x.device)
    rows, cols = torch.arange(H, device=x.device), torch.arange(W, device=x.device)
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + size)  # (N, H)
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + size)  # (N, W)
    mask = (in_rows[:, :, None] & in_cols[:, None, :])[:, None]  # (N, 1, H, W)
    return torch.where(mask, torch.full_like(x, fill), x), mask


CORRUPTIONS = {"gaussian": gaussian_noise, "salt_pepper": salt_and_pepper,
               "masking": masking_noise, "block": block_occlusion}


def corrupt(x, kind, level, generator=None) -> torch.Tensor:
    """Apply corruption `kind` at `level` (sigma, p, or block size for 'block', placed at random)."""
    if kind not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {kind!r}; valid kinds: {', '.join(CORRUPTIONS)}")
    if kind == "block":
        return block_occlusion(x, level, generator=generator)[0]
    return CORRUPTIONS[kind](x, level, generator=generator)


# ---------------------------------------------------------------- a 2-D toy: points near a curve in the plane

# a three-quarter circle inside [0, 1]^2, so a sigmoid output can reach every point and the Gaussian
# noise's clamp to [0, 1] rarely bites; the missing quarter gives the curve two ends
CURVE2D = dict(centre=(0.5, 0.5), radius=0.3, start=0.0, end=1.5 * np.pi)
_CURVE2D_RESOLUTION = 3000  # points of the dense curve that nearest-point look-ups search


def curve2d_points(t) -> np.ndarray:
    """Points (M, 2) on the toy curve at parameters t in [0, 1] (array-like): the arc's start at 0, its end at 1."""
    t = np.asarray(t, dtype=np.float64)
    a = CURVE2D["start"] + (CURVE2D["end"] - CURVE2D["start"]) * t
    (cx, cy), r = CURVE2D["centre"], CURVE2D["radius"]
    return np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], -1)


def curve2d_tangents(t) -> np.ndarray:
    """Unit tangents (M, 2) of the toy curve at parameters t."""
    a = CURVE2D["start"] + (CURVE2D["end"] - CURVE2D["start"]) * np.asarray(t, dtype=np.float64)
    return np.stack([-np.sin(a), np.cos(a)], -1)


def _check_points(points):
    p = np.asarray(points, dtype=np.float64) if not isinstance(points, torch.Tensor) else points.detach().cpu().double().numpy()
    if p.ndim != 2 or p.shape[1] != 2 or len(p) == 0 or not np.isfinite(p).all():
        raise ValueError(f"points must be a finite array of shape (M, 2) with M >= 1, got shape {p.shape}")
    return p


def curve2d_nearest(points) -> tuple[np.ndarray, np.ndarray]:
    """For points (M, 2): the nearest point on the toy curve (M, 2) and its parameter t (M,), on a dense grid of t."""
    p = _check_points(points)
    t = np.linspace(0.0, 1.0, _CURVE2D_RESOLUTION)
    dense = curve2d_points(t)  # (R, 2)
    nearest = np.concatenate([((chunk[:, None] - dense[None]) ** 2).sum(-1).argmin(1)
                              for chunk in np.array_split(p, max(1, len(p) // 512))])  # chunks bound the (m, R) memory
    return dense[nearest], t[nearest]


def make_curve2d(n: int = 1000, thickness: float = 0.005, seed: int = 0, split: str = "train") -> Dataset:
    """n points near the toy curve, as a Dataset of 'images' (N, 1, 1, 2) so every aeteach MLP takes them.

    Each point is the curve at a uniform random t plus Gaussian noise of std `thickness` in both coordinates;
    y holds t. The same seed and split give the same points, and the first k of n are the same for any n >= k.
    """
    _check_int("n", n, 1, None)
    thickness = _check_real("thickness", thickness, 0.0, 0.1)
    _check_int("seed", seed, 0, None)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    t = _rng(seed, split, 3).random(n)
    noise = _rng(seed, split, 4).standard_normal((n, 2)) * thickness
    x = torch.from_numpy((curve2d_points(t) + noise).astype(np.float32)).reshape(n, 1, 1, 2)
    return Dataset(x, torch.from_numpy(t.astype(np.float32)), "curve2d")


def curve2d_band(n: int = 400, near: float = 0.02, far: float = 0.1, seed: int = 0) -> np.ndarray:
    """n points (n, 2) off the toy curve: at a uniform t, moved along the normal by a distance in [near, far], either side.

    Where a denoiser's arrows and an encoder's directions are tested: near enough that training saw such
    points, far enough that the direction to the curve is well defined.
    """
    _check_int("n", n, 1, None)
    near, far = _check_real("near", near, 0.0, 0.2), _check_real("far", far, 0.0, 0.2)
    if near > far:
        raise ValueError(f"near must be <= far, got near={near}, far={far}")
    u = np.random.default_rng([seed, 5]).random((n, 3))
    t, side, dist = u[:, 0], np.where(u[:, 1] < 0.5, -1.0, 1.0), near + (far - near) * u[:, 2]
    tangent = curve2d_tangents(t)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], -1)  # the tangent turned by -90 degrees: outward
    return curve2d_points(t) + (side * dist)[:, None] * normal
