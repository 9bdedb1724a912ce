"""Command line: python -m aeteach compare | train | info."""
import argparse
import sys
import tempfile
import time
from pathlib import Path

from . import __version__
from .compare import COMPARE_KINDS, compare, format_table
from .data import DATASETS, load_dataset
from .losses import KINDS
from .metrics import reconstruction_mse
from .models import make_model, save
from .train import choose_device, fit


CHECKPOINT_SUFFIXES = (".pt", ".pth")


def check_out(out):
    """The checkpoint path --out, checked before any training: a suffix torch users expect, a folder that
    exists and takes a file (tried, not guessed from permission bits: root passes those, a read-only disk does not)."""
    path = Path(out)
    if path.suffix not in CHECKPOINT_SUFFIXES:
        raise ValueError(f"--out must end in {' or '.join(CHECKPOINT_SUFFIXES)}, got {out!r}")
    if path.is_dir():
        raise ValueError(f"--out {out!r} is a folder; give a file name such as {str(path / 'model.pt')!r}")
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"--out {out!r}: the folder {str(folder)!r} does not exist")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ValueError(f"--out {out!r}: cannot write in {str(folder)!r} ({err.strerror or err})") from None
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m aeteach", description="Autoencoders for teaching.")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compare", help="train every kind on one dataset and print one table")
    c.add_argument("--dataset", default="digits", choices=("digits", "mnist", "fashion_mnist"))
    c.add_argument("--bottleneck", type=int, default=8)
    c.add_argument("--epochs", type=int, default=60)
    c.add_argument("--kinds", nargs="+", default=list(COMPARE_KINDS), choices=COMPARE_KINDS, metavar="KIND")
    c.add_argument("--device", default="auto")
    t = sub.add_parser("train", help="train one model and save it")
    t.add_argument("kind", choices=KINDS)
    t.add_argument("--dataset", default="digits", choices=DATASETS)
    t.add_argument("--bottleneck", type=int, default=8)
    t.add_argument("--epochs", type=int, default=60)
    t.add_argument("--device", default="auto")
    t.add_argument("--out", default=None, help="checkpoint path (default KIND.pt)")
    sub.add_parser("info", help="version, device, kinds and datasets")
    args = parser.parse_args(argv)
    try:
        if args.command == "compare":
            t0 = time.perf_counter()
            rows = compare(args.kinds, args.dataset, args.bottleneck, epochs=args.epochs, device=args.device)
            print(f"{args.dataset}, {args.epochs} epochs each, device {choose_device(args.device)}")
            print(format_table(rows))
            print(f"total {time.perf_counter() - t0:.1f} s")
        elif args.command == "train":
            out = check_out(args.out or f"{args.kind}.pt")  # before the training, not after it
            train, test = load_dataset(args.dataset), load_dataset(args.dataset, "test")
            model = make_model(args.kind, train.shape, args.bottleneck)
            history = fit(model, train, test, epochs=args.epochs, device=args.device)
            save(model, out)
            print(f"{history}\ntest MSE {reconstruction_mse(model, test.x) if not model.needs_target else float('nan'):.5f}; saved {out}")
        else:
            print(f"aeteach {__version__}; device {choose_device()}\nkinds: {', '.join(KINDS)}\ndatasets: {', '.join(DATASETS)}")
    except (ValueError, RuntimeError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
