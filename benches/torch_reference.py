#!/usr/bin/env python3
"""The PyTorch-CPU peer of privaudit's reference training, for `npm run bench`.

Does what privaudit does for an offline audit of the demo with K references: trains K copies of
the demo MLP (64-128-128-10), each on its own half of the held-out population (125 of the 250
held-out non-members), with Adam (lr 1e-3), 100 epochs, batch 32, then runs every reference on
all 600 demo records. Prints one JSON line: {"seconds": …, "threads": …, "torch": …}.

Usage: python3 benches/torch_reference.py [K] [epochs] [threads]  (threads: torch.set_num_threads;
default: torch's own choice, one per core)
"""
import json, os, sys, time
import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
K = int(sys.argv[1]) if len(sys.argv) > 1 else 4
EPOCHS = int(sys.argv[2]) if len(sys.argv) > 2 else 100
if len(sys.argv) > 3:
    torch.set_num_threads(int(sys.argv[3]))

def load(name):
    d = np.loadtxt(os.path.join(ROOT, "www", "demo", name), delimiter=",", skiprows=1)
    return d[:, :64] / 16.0, d[:, 64].astype(int)

xm, ym = load("digits_members.csv")
xn, yn = load("digits_nonmembers.csv")
x_all = torch.tensor(np.vstack([xm, xn]), dtype=torch.float32)
rng = np.random.default_rng(0)
pool = rng.permutation(len(xn))[:250]
t0 = time.perf_counter()
for k in range(K):
    torch.manual_seed(k)
    idx = rng.permutation(pool)[:125]
    xt = torch.tensor(xn[idx], dtype=torch.float32); yt = torch.tensor(yn[idx])
    m = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    for _ in range(EPOCHS):
        perm = torch.randperm(len(idx))
        for b in range(0, len(idx), 32):
            sel = perm[b:b + 32]
            opt.zero_grad(); loss = torch.nn.functional.cross_entropy(m(xt[sel]), yt[sel]); loss.backward(); opt.step()
    with torch.no_grad():
        m(x_all)
print(json.dumps({"seconds": time.perf_counter() - t0, "threads": torch.get_num_threads(), "torch": torch.__version__, "references": K, "epochs": EPOCHS}))
