"""Time to train the default digits autoencoder (MLP, bottleneck 8) to within 5% of its converged test MSE.

Side by side, in one run, interleaved repeat by repeat (so machine noise hits all alike):
  aeteach.fit                    the package's defaults
  tutorial loop (baseline)       DataLoader(TensorDataset(x), batch_size=32, shuffle=True), Adam lr=1e-3, MSE
  in-memory loop                 the same loop without a DataLoader, batch 256, Adam lr=1e-2

Usage: python bench/train_speed.py [--repeats 5] [--device cpu]
"""
import argparse
import statistics
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

import aeteach as ae

MAX_SECONDS = 60.0


def reference_mse(train, test, device):
    """The converged test MSE: the best over a long aeteach run."""
    model = ae.make_model("undercomplete", train.shape, 8)
    history = ae.fit(model, train, test, epochs=400, device=device, progress=False)
    return min(history.test["recon"])


def time_aeteach(train, test, target, device, seed):
    def stop_at_target(event, state):
        if event == "epoch_end" and state.history.test["recon"][-1] <= target:
            state.stop = True

    model = ae.make_model("undercomplete", train.shape, 8, seed=seed)
    h = ae.fit(model, train, test, time_budget=MAX_SECONDS, device=device, seed=seed, callbacks=[stop_at_target], progress=False)
    return h.seconds[-1] if h.test["recon"][-1] <= target else float("nan")


def time_loop(train, test, target, device, seed, batch_size, lr, dataloader):
    torch.manual_seed(seed)
    model = ae.make_model("undercomplete", train.shape, 8, seed=seed).to(device)
    x, x_test = train.x.to(device), test.x.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.MSELoss()
    batches = (lambda: (b for (b,) in DataLoader(TensorDataset(x), batch_size=batch_size, shuffle=True))) if dataloader else \
              (lambda: (x[i] for i in torch.randperm(len(x), device=device).split(batch_size)))
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < MAX_SECONDS:
        model.train()
        for xb in batches():
            opt.zero_grad()
            loss = loss_fn(model(xb), xb)
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            if loss_fn(model(x_test), x_test).item() <= target:
                return time.perf_counter() - t0
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = ae.choose_device(args.device)
    train, test = ae.load_dataset("digits"), ae.load_dataset("digits", "test")
    ref = reference_mse(train, test, device)  # also warms up torch (lazy imports, allocator)
    target = 1.05 * ref
    methods = {
        "aeteach.fit": lambda s: time_aeteach(train, test, target, device, s),
        "tutorial loop (baseline)": lambda s: time_loop(train, test, target, device, s, 32, 1e-3, dataloader=True),
        "in-memory loop, batch 256": lambda s: time_loop(train, test, target, device, s, 256, 1e-2, dataloader=False),
    }
    times = {name: [] for name in methods}
    for seed in range(args.repeats):
        for name, run in methods.items():
            times[name].append(run(seed))
    print(f"digits, MLP autoencoder, bottleneck 8, device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"converged test MSE {ref:.5f} (best of 400 aeteach epochs); target {target:.5f} (+5%); {args.repeats} repeats")
    base = statistics.median(times["tutorial loop (baseline)"])
    print(f"{'method':28s} {'median s':>9s} {'min s':>7s} {'max s':>7s} {'speed-up vs baseline':>21s}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:28s} {med:9.3f} {min(ts):7.3f} {max(ts):7.3f} {base / med:20.1f}x")


if __name__ == "__main__":
    main()
