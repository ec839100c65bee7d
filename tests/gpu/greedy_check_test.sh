#!/usr/bin/env bash
# tests/gpu/greedy_check_test.sh - greedy_check.py on made-up logits (no GPU):
# it passes equal picks and near-ties, and fails a clear disagreement, a
# reference token that is not the reference's argmax, and wrong shapes.
set -u
D=$(cd "$(dirname "$0")" && pwd); T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
python3 - "$T" <<'PY'
import sys, numpy as np
t = sys.argv[1]; rng = np.random.default_rng(0)
ref = rng.normal(size=(6, 16)).astype(np.float32)        # prompt 3 + 4 steps - 1
ref[2:, :] -= 10; toks = [3, 7, 1, 12]
for s, k in enumerate(toks): ref[2 + s, k] = 5.0
np.save(f"{t}/ref.npy", ref); np.save(f"{t}/same.npy", ref + 1e-3)
tie = ref.copy(); tie[3, 9] = 5.0 - 1e-3; np.save(f"{t}/reftie.npy", tie)   # step 2: a near-tie
g = tie.copy(); g[3, 9] = 5.01; np.save(f"{t}/gottie.npy", g)                # ... picked the other way
far = ref.copy(); far[4, 0] = 6.0; np.save(f"{t}/far.npy", far)              # step 3: a real flip
np.save(f"{t}/short.npy", ref[:5])
PY
fails=0
expect() { # want-rc description args...
  local want=$1 what=$2; shift 2
  out=$(python3 "$D/greedy_check.py" "$@" 2>&1); rc=$?
  if [ "$rc" = "$want" ]; then echo "PASS $what: $out"; else echo "FAIL $what (rc $rc, want $want): $out"; fails=$((fails + 1)); fi
}
A="--prompt-len 3 --tokens 3,7,1,12"
expect 0 "equal picks" "$T/same.npy" "$T/ref.npy" $A
expect 0 "a near-tie picked the other way" "$T/gottie.npy" "$T/reftie.npy" $A
expect 1 "a near-tie beyond a tighter --tie" "$T/gottie.npy" "$T/reftie.npy" $A --tie 1e-5
expect 1 "a clear disagreement" "$T/far.npy" "$T/ref.npy" $A
expect 1 "a token that is not the reference's argmax" "$T/same.npy" "$T/ref.npy" --prompt-len 3 --tokens 3,7,2,12
expect 1 "logits one row short" "$T/short.npy" "$T/ref.npy" $A
expect 1 "tokens that are not integers" "$T/same.npy" "$T/ref.npy" --prompt-len 3 --tokens 3,x
echo "greedy_check tests: $fails failed"
[ $fails = 0 ]
