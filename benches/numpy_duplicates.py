#!/usr/bin/env python3
"""The numpy peer of benches/duplicates.mjs: members with an exact copy among the members, and
non-members identical to some member, by sorting the rows (np.unique(axis=0)). Prints JSON with
the counts and the time of the search alone (the CSVs are read first, untimed)."""
import json
import sys
import time

import numpy as np


def read(path):
    x = np.loadtxt(path, delimiter=",", skiprows=1)
    return x[:, :-1]  # the label is the last column


m, n = read(sys.argv[1]), read(sys.argv[2])
t0 = time.perf_counter()
_, inv, counts = np.unique(m, axis=0, return_inverse=True, return_counts=True)
within = int((counts[inv.ravel()] > 1).sum())
both = np.vstack([m, n])
_, inv2 = np.unique(both, axis=0, return_inverse=True)
inv2 = inv2.ravel()
member_groups = np.zeros(inv2.max() + 1, dtype=bool)
member_groups[inv2[: len(m)]] = True
across = int(member_groups[inv2[len(m):]].sum())
seconds = time.perf_counter() - t0
print(json.dumps({"numpy": np.__version__, "seconds": seconds, "within": within, "across": across}))
