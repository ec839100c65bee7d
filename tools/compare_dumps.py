#!/usr/bin/env python3
"""Compare two HYBRIDC_DUMP_VALUES folders (e.g. the CUDA executor against the
CPU reference on the same .hyb and prompt): one line per prefill instruction
output, in program order, with max|a - b| / max|b|, so that the first op where
the executors part is the first line over the tolerance.

  HYBRIDC_DUMP_VALUES=/tmp/gpu hybrid-run logits m.hyb ... --device cuda -o g.npy
  HYBRIDC_DUMP_VALUES=/tmp/cpu hybrid-run logits m.hyb ... --device cpu -o c.npy
  tools/compare_dumps.py /tmp/gpu /tmp/cpu [--tol 1e-2]
"""
import argparse
import os
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b", help="the reference")
    ap.add_argument("--tol", type=float, default=1e-2)
    args = ap.parse_args()
    names = sorted(set(os.listdir(args.a)) & set(os.listdir(args.b)))
    if not names:
        sys.exit("no common .npy files in the two folders")
    worst = 0.0
    for n in names:
        a, b = np.load(os.path.join(args.a, n)), np.load(os.path.join(args.b, n))
        if a.shape != b.shape:
            print(f"{n}: shapes differ {a.shape} vs {b.shape}")
            continue
        den = float(np.max(np.abs(b))) or 1.0
        rel = float(np.max(np.abs(a.astype(np.float64) - b))) / den
        rms = float(np.sqrt(np.mean((a.astype(np.float64) - b) ** 2))) / (float(np.sqrt(np.mean(b.astype(np.float64) ** 2))) or 1.0)
        worst = max(worst, rel)
        flag = "  <-- over" if rel > args.tol else ""
        print(f"{n[:-4]:48s} max-rel {rel:.3e}  rms-rel {rms:.3e}  max|ref| {den:.3e}{flag}")
    print(f"worst max-rel {worst:.3e} over {len(names)} values")


if __name__ == "__main__":
    main()
