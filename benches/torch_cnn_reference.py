#!/usr/bin/env python3
"""The PyTorch-CPU peer of privaudit's CNN reference training, for `npm run bench`.

Does what privaudit does for the offline audit of the image demo (www/demo/digits_cnn.onnx on
the digits PNG zips): trains K copies of the digits CNN (Conv 1→16, ReLU, MaxPool, Conv 16→32,
ReLU, MaxPool, Linear 128→10; tests/fixtures/make_cnn_fixtures.py), each on N of the 250
population images (N: what privaudit's report says each reference trained on), with Adam,
the given learning rate, epochs and batch size, then runs each on the 350 audited images.
The pixels are the same: the NPZ arrays that make_cnn_fixtures.py wrote beside the PNGs.
Prints one JSON line: {"seconds": …, "threads": …, "torch": …}.

Usage: python3 benches/torch_cnn_reference.py K EPOCHS N [LR] [BATCH]
"""
import json, os, sys, time
import numpy as np
import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
K, EPOCHS, N = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
LR = float(sys.argv[4]) if len(sys.argv) > 4 else 3e-3
BATCH = int(sys.argv[5]) if len(sys.argv) > 5 else 25


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc = nn.Linear(32 * 2 * 2, 10)

    def forward(self, x):
        h = nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
        h = nn.functional.max_pool2d(torch.relu(self.c2(h)), 2)
        return self.fc(torch.flatten(h, 1))


def load(name):
    d = np.load(os.path.join(ROOT, "tests", "fixtures", "models", f"digits_cnn_{name}.npz"))
    return torch.from_numpy(d["x"]), torch.from_numpy(d["y"])


xp, yp = load("population")
audited = torch.cat([load("members")[0], load("nonmembers")[0]])
rng = np.random.default_rng(0)
t0 = time.perf_counter()
for k in range(K):
    torch.manual_seed(k)
    idx = torch.from_numpy(rng.permutation(len(xp))[:N])
    xt, yt = xp[idx], yp[idx]
    m = DigitsCNN()
    opt = torch.optim.Adam(m.parameters(), lr=LR)
    for _ in range(EPOCHS):
        perm = torch.randperm(N)
        for b in range(0, N, BATCH):
            sel = perm[b:b + BATCH]
            opt.zero_grad(); loss = nn.functional.cross_entropy(m(xt[sel]), yt[sel]); loss.backward(); opt.step()
    with torch.no_grad():
        m(audited)
print(json.dumps({"seconds": time.perf_counter() - t0, "threads": torch.get_num_threads(), "torch": torch.__version__, "references": K, "epochs": EPOCHS}))
