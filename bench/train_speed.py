"""Time to train an autoencoder to within 5% of its converged test MSE, side by side with a tutorial-style loop.

Cases (--case, default both):
  digits   the default digits MLP autoencoder (8x8, bottleneck 8)
  mnist28  28x28 real digits (mnist5k: 4000 train, 1000 test), bottleneck 16, the MLP and the conv net

Methods, in one run, interleaved repeat by repeat (so machine noise hits all alike):
  aeteach.fit                    the package's defaults
  tutorial loop (baseline)       DataLoader(TensorDataset(x), batch_size=32, shuffle=True), Adam lr=1e-3, MSE,
                                 on the same aeteach model (the loop of the classic PyTorch autoencoder tutorials)
  in-memory loop, batch 256      (digits) the same loop without a DataLoader, batch 256, Adam lr=1e-2
  aeteach.fit, output at 0.5     (conv) the model before its output started at the data's mean: how it trained
                                 until that change (it stalls at most seeds: black images, test MSE 0.112)
  aeteach.fit, (32, 64) lr 3e-3  (conv) the conv defaults before (channels (32, 64), Adam lr 3e-3): the convolutions
                                 cost c1 * c2, so the (16, 32) default runs an epoch about 2.4x faster on one thread
                                 (measured in thread CPU time: 0.61 vs 1.45 s, batch 64) for ~2% more converged MSE;
                                 channels_last and the transposed convolutions as Conv2d + PixelShuffle each gave <= 5%

The conv target is 1.05 x the converged test MSE of the (32, 64) net (so a smaller net must reach the old quality);
both converged values are printed. Latest run (loaded 2-core machine, one thread, seeds 0-2): conv aeteach.fit
0.58 s/epoch vs 1.17 for the (32, 64) lr 3e-3 defaults (2.0x, test evaluation included), to target 11.9 vs 17.5 s
(median; 3/3 reached), converged 0.01089 vs 0.01088 at seed 0 (seeds 0-2 over 60 epochs: 0.0109-0.0111 vs 0.0107-0.0109).
Not tried to the end: 3x per epoch needs (8, 32) (2.8x a step, +6% converged MSE) or less.

The target is 1.05 x the converged test MSE (the best of one long aeteach run). A run that has not reached
it after --max-seconds counts as that many seconds and is marked; 'per epoch' is its mean epoch time.
Run with one torch thread (the default here); the machine this project has is shared, so compare ratios.

Usage: python bench/train_speed.py [--case digits|mnist28] [--repeats 3] [--device cpu] [--threads 1]
"""
import argparse
import statistics
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

import aeteach as ae

CASES = {  # case -> (dataset, bottleneck, {arch: epochs of the reference run})
    "digits": ("digits", 8, {"mlp": 400}),
    "mnist28": ("mnist5k", 16, {"mlp": 200, "conv": 60}),
}


BEFORE = {"channels": (32, 64)}, 3e-3  # the conv net's defaults before: channels, lr


def model_for(train, arch, bottleneck, seed, old_output=False, hyper=None):
    model = ae.make_model("undercomplete", train.shape, bottleneck, arch=arch, seed=seed, **(hyper or {}))
    if old_output:
        model.output_started = True  # skip the start at the data's mean: the output begins near 0.5, as it used to
    return model


def reference_mse(train, test, arch, bottleneck, epochs, device, hyper=None, lr=None):
    """The converged test MSE: the best over a long aeteach run."""
    history = ae.fit(model_for(train, arch, bottleneck, 0, hyper=hyper), train, test, epochs=epochs, lr=lr, device=device,
                     progress=False)
    return min(history.test["recon"])


def time_aeteach(train, test, arch, bottleneck, target, device, seed, limit, old_output=False, hyper=None, lr=None):
    def stop_at_target(event, state):
        if event == "epoch_end" and state.history.test["recon"][-1] <= target:
            state.stop = True

    model = model_for(train, arch, bottleneck, seed, old_output, hyper)
    h = ae.fit(model, train, test, epochs=10**5, time_budget=limit, lr=lr, device=device, seed=seed, callbacks=[stop_at_target],
               progress=False)
    reached = bool(h.test["recon"]) and h.test["recon"][-1] <= target
    return (h.seconds[-1] if reached else limit), reached, h.seconds[-1] / max(h.epochs, 1)


def time_loop(train, test, arch, bottleneck, target, device, seed, limit, batch_size, lr, dataloader):
    torch.manual_seed(seed)
    model = model_for(train, arch, bottleneck, seed).to(device)
    x, x_test = train.x.to(device), test.x.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.MSELoss()
    batches = (lambda: (b for (b,) in DataLoader(TensorDataset(x), batch_size=batch_size, shuffle=True))) if dataloader else \
              (lambda: (x[i] for i in torch.randperm(len(x), device=device).split(batch_size)))
    t0, epochs = time.perf_counter(), 0
    while time.perf_counter() - t0 < limit:
        model.train()
        for xb in batches():
            opt.zero_grad()
            loss = loss_fn(model(xb), xb)
            loss.backward()
            opt.step()
        epochs += 1
        model.eval()
        with torch.no_grad():
            if loss_fn(model(x_test), x_test).item() <= target:
                seconds = time.perf_counter() - t0
                return seconds, True, seconds / epochs
    return limit, False, (time.perf_counter() - t0) / max(epochs, 1)


def methods(case, arch, train, test, bottleneck, target, device, limit):
    args = (train, test, arch, bottleneck, target, device)
    out = {"aeteach.fit": lambda s: time_aeteach(*args, s, limit),
           "tutorial loop (baseline)": lambda s: time_loop(*args, s, limit, 32, 1e-3, dataloader=True)}
    if case == "digits":
        out["in-memory loop, batch 256"] = lambda s: time_loop(*args, s, limit, 256, 1e-2, dataloader=False)
    if arch == "conv":
        out["aeteach.fit, output at 0.5"] = lambda s: time_aeteach(*args, s, limit, old_output=True)
        out["aeteach.fit, (32, 64) lr 3e-3"] = lambda s: time_aeteach(*args, s, limit, hyper=BEFORE[0], lr=BEFORE[1])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=tuple(CASES), nargs="+", default=list(CASES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = ae.choose_device(args.device)
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, {args.repeats} repeats "
          f"(seeds 0..{args.repeats - 1}), at most {args.max_seconds:g} s a run")
    for case in args.case:
        name, bottleneck, archs = CASES[case]
        train, test = ae.load_dataset(name), ae.load_dataset(name, "test")
        for arch, ref_epochs in archs.items():
            ref = reference_mse(train, test, arch, bottleneck, ref_epochs, device)  # also warms torch up
            before = reference_mse(train, test, arch, bottleneck, 40, device, *BEFORE) if arch == "conv" else None
            target = 1.05 * (ref if before is None else before)
            runs = methods(case, arch, train, test, bottleneck, target, device, args.max_seconds)
            results = {m: [] for m in runs}
            for seed in range(args.repeats):
                for m, run in runs.items():
                    results[m].append(run(seed))
            print(f"\n{name} {tuple(train.shape)}, {len(train)} train, {arch}, bottleneck {bottleneck}: converged test MSE "
                  f"{ref:.5f} (best of {ref_epochs} aeteach epochs)" +
                  ("" if before is None else f", (32, 64) lr 3e-3: {before:.5f} (best of 40)") + f", target {target:.5f} (+5%)")
            base = statistics.median(t for t, _, _ in results["tutorial loop (baseline)"])
            base_epoch = statistics.median(e for _, _, e in results["tutorial loop (baseline)"])
            print(f"{'method':28s} {'median s':>9s} {'min s':>7s} {'max s':>7s} {'reached':>8s} {'speed-up':>9s} "
                  f"{'s/epoch':>8s} {'epoch vs baseline':>18s}")
            for m, rs in results.items():
                ts, ok, per_epoch = [t for t, _, _ in rs], sum(r for _, r, _ in rs), statistics.median(e for _, _, e in rs)
                med = statistics.median(ts)
                print(f"{m:28s} {med:9.2f} {min(ts):7.2f} {max(ts):7.2f} {f'{ok}/{len(rs)}':>8s} {base / med:8.1f}x "
                      f"{per_epoch:8.3f} {base_epoch / per_epoch:17.1f}x")


if __name__ == "__main__":
    main()
