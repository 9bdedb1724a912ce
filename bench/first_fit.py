"""The first fit of a session against the second, in fresh processes: does the first one pay for imports?

In each fresh Python process: import aeteach, then time fit() of a digits autoencoder for one epoch twice
(first, second). Baseline in the same processes: building torch.optim.Adam(fused=True) first, as fit did before
(its constructor imports torch._dynamo and sympy). Median over --repeats processes, interleaved.

Usage: python bench/first_fit.py [--repeats 5]
"""
import argparse
import json
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import torch
torch.set_num_threads(1)
import aeteach as ae
t_import = time.perf_counter() - t0
train = ae.load_dataset("digits")
out = {"import aeteach": t_import}
if sys.argv[1] == "baseline":
    t0 = time.perf_counter()
    torch.optim.Adam(ae.make_model("undercomplete", train.shape, 8).parameters(), fused=True)
    out["torch.optim.Adam(fused=True)"] = time.perf_counter() - t0
for name in ("first fit", "second fit"):
    model = ae.make_model("undercomplete", train.shape, 8, seed=0)
    t0 = time.perf_counter()
    ae.fit(model, train, epochs=1, progress=False, device="cpu")
    out[name] = time.perf_counter() - t0
out["torch._dynamo imported"] = "torch._dynamo" in sys.modules
print(json.dumps(out))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    runs = {"aeteach.fit": [], "baseline": []}
    for _ in range(args.repeats):
        for mode in runs:
            done = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True)
            runs[mode].append(json.loads(done.stdout))
    for mode, rows in runs.items():
        print(f"{mode} ({args.repeats} fresh processes, median seconds; one epoch of digits, batch 256):")
        for key in rows[0]:
            values = [r[key] for r in rows]
            shown = values[0] if isinstance(values[0], bool) else f"{statistics.median(values):.3f}"
            print(f"  {key:32s} {shown}")
    first = statistics.median(r["first fit"] for r in runs["aeteach.fit"])
    second = statistics.median(r["second fit"] for r in runs["aeteach.fit"])
    old = statistics.median(r["first fit"] + r["torch.optim.Adam(fused=True)"] for r in runs["baseline"])
    print(f"first fit / second fit: {first / second:.2f}; the first fit as it was (with fused Adam's imports): {old:.3f} s")


if __name__ == "__main__":
    main()
