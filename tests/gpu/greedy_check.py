#!/usr/bin/env python3
"""Teacher-forced greedy check: does the executor under test pick the
reference's greedy token at every generation step?

Both executors run the prompt followed by the reference's greedy tokens
(the one under test prefills the prompt and decodes the rest through its
caches), so every one of the N steps is checked on the same context, not
just the steps before the first disagreement. A step passes when the two
argmaxes agree, or when the reference's logits for the two tokens are
within --tie of max|reference logits| (a near-tie: any executor whose
logits are within that bound may pick either token). Free-running greedy
runs part for good at the first such tie; this check goes on past it.

  greedy_check.py GOT.npy REF.npy --prompt-len P --tokens 5,17,... [--tie 1e-2]

GOT/REF: logits [P + N - 1, V] (or [1, P + N - 1, V]); tokens: the N
reference greedy tokens. Prints one line; exit 1 when a step fails.
"""
import argparse
import sys

import numpy as np


def check(got, ref, prompt_len, tokens, tie):
    got = got.reshape(-1, got.shape[-1])
    ref = ref.reshape(-1, ref.shape[-1])
    n = len(tokens)
    if got.shape != ref.shape or got.shape[0] != prompt_len + n - 1:
        return False, f"logits shapes {got.shape} and {ref.shape}, want [{prompt_len + n - 1}, V]"
    scale = float(np.abs(ref).max()) or 1.0
    exact, ties, bad = 0, [], []
    for s in range(n):
        row_g, row_r = got[prompt_len - 1 + s], ref[prompt_len - 1 + s]
        want = int(tokens[s])
        if int(np.argmax(row_r)) != want:
            return False, f"step {s + 1}: token {want} is not the reference's argmax {int(np.argmax(row_r))}"
        pick = int(np.argmax(row_g))
        if pick == want:
            exact += 1
            continue
        gap = float(row_r[want] - row_r[pick]) / scale
        (ties if gap <= tie else bad).append(f"step {s + 1}: {pick} for {want}, gap {gap:.1e}")
    msg = f"{exact} of {n} steps pick the reference's token"
    if ties:
        msg += f"; near-ties (gap <= {tie:g} of max|logit|): " + ", ".join(ties)
    if bad:
        return False, msg + "; NOT near-ties: " + ", ".join(bad)
    return True, msg


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("got")
    ap.add_argument("ref")
    ap.add_argument("--prompt-len", type=int, required=True)
    ap.add_argument("--tokens", required=True, help="the reference's greedy tokens, comma-separated")
    ap.add_argument("--tie", type=float, default=1e-2)
    a = ap.parse_args()
    try:
        tokens = [int(t) for t in a.tokens.split(",") if t.strip()]
    except ValueError:
        sys.exit(f"greedy_check: --tokens must be comma-separated integers, got {a.tokens!r}")
    if not tokens or a.prompt_len < 1:
        sys.exit("greedy_check: need --prompt-len >= 1 and at least one token")
    ok, msg = check(np.load(a.got), np.load(a.ref), a.prompt_len, tokens, a.tie)
    print(("ok: " if ok else "FAIL: ") + msg)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
