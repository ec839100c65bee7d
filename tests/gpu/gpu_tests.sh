#!/usr/bin/env bash
# tests/gpu/gpu_tests.sh BIN_DIR HYB_DIR - the CUDA executor against the CPU
# reference. Exit 77 (ctest: skipped) when there is no GPU.
#   - every HF fixture family: GPU logits vs transformers' (= the CPU
#     executor's to 1e-6) within bf16 tolerance (max|diff|/max|ref| <= 1e-2);
#     prefill 5 + decode vs one GPU forward; 24-token greedy vs greedy.json;
#   - the tiny model and the e2e families (transformer, mamba2, inter, intra
#     diff/concat): GPU vs CPU logits, and prefill+decode vs full on the GPU;
#   - one run under compute-sanitizer memcheck (tiny, prefill + decode).
set -u
BIN=$1; HYB=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FIX=$ROOT/tests/fixtures/hf
T=$(mktemp -d)
RUN="$BIN/hybrid-run"; CMP="$BIN/npy-compare"
# No GPU (no driver): skip before anything else; on a GPU machine missing
# artifacts are a failure (tools/gpu/prepare.sh makes them).
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "SKIP: no NVIDIA GPU on this machine"; exit 77
fi
if [ ! -f "$HYB/tiny.hyb" ]; then
  echo "FAIL: no CUDA artifacts in $HYB (run tools/gpu/prepare.sh on the CPU machine and carry .carry/)"; exit 1
fi
if ! "$RUN" logits "$HYB/tiny.hyb" --random-weights 3 --prompt "probe" --device cuda -o "$T/probe.npy" > "$T/probe.log" 2>&1; then
  if grep -q -e "no CUDA device" -e "libcuda.so" -e "STUB_LIBRARY" "$T/probe.log"; then echo "SKIP: no CUDA device ($(head -1 "$T/probe.log"))"; exit 77; fi
  cat "$T/probe.log"; echo "FAIL: the probe run failed"; exit 1
fi
fails=0
check() { # name command...
  local name=$1; shift
  if out=$("$@" 2>&1); then echo "PASS $name: $(echo "$out" | tail -1)"; else echo "FAIL $name: $out"; fails=$((fails + 1)); fi
}
ids() { python3 -c "import json,sys; print(','.join(map(str, json.load(open(sys.argv[1])))))" "$1"; }
for f in bamba falcon_h1 llama mamba2 nemotron_h; do
  P=$(ids "$FIX/$f/prompt.json"); W="--weights $FIX/$f/model.safetensors"
  check "$f logits gpu vs transformers" bash -c "'$RUN' logits '$HYB/hf-$f.hyb' $W --prompt-ids $P --device cuda -o '$T/$f.npy' > /dev/null && '$CMP' '$T/$f.npy' '$FIX/$f/logits.npy' --max-rel 1e-2"
  check "$f prefill5+decode vs full (gpu)" bash -c "'$RUN' logits '$HYB/hf-$f.hyb' $W --prompt-ids $P --device cuda --decode-from 5 -o '$T/$f.dec.npy' > /dev/null && '$CMP' '$T/$f.dec.npy' '$T/$f.npy' --max-rel 1e-2"
  want=$(ids "$FIX/$f/greedy.json")
  got=$("$RUN" generate "$HYB/hf-$f.hyb" $W --prompt-ids $P --device cuda --greedy --max-new-tokens 24 2>&1 | head -1)
  if [ "$got" = "$want" ]; then echo "PASS $f greedy 24 tokens"; else
    n=$(GOT="$got" WANT="$want" python3 -c "import os
a = os.environ['GOT'].split(','); b = os.environ['WANT'].split(','); k = 0
while k < min(len(a), len(b)) and a[k] == b[k]: k += 1
print(k)")
    echo "FAIL $f greedy: first $n of 24 agree; got $got want $want"; fails=$((fails + 1)); fi
done
for m in tiny fam-transformer fam-mamba2 fam-inter fam-intra_diff fam-intra_concat; do
  A="--random-weights 7 --prompt State_spaces_meet_attention_and_more_tokens"
  check "$m logits gpu vs cpu" bash -c "'$RUN' logits '$HYB/$m.hyb' $A --device cpu -o '$T/$m.cpu.npy' > /dev/null && '$RUN' logits '$HYB/$m.hyb' $A --device cuda -o '$T/$m.gpu.npy' > /dev/null && '$CMP' '$T/$m.gpu.npy' '$T/$m.cpu.npy' --max-rel 1e-2"
  check "$m prefill3+decode vs full (gpu)" bash -c "'$RUN' logits '$HYB/$m.hyb' $A --device cuda --decode-from 3 -o '$T/$m.dec.npy' > /dev/null && '$CMP' '$T/$m.dec.npy' '$T/$m.gpu.npy' --max-rel 1e-2"
done
if command -v compute-sanitizer > /dev/null || [ -x /usr/local/cuda/bin/compute-sanitizer ]; then
  CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  check "compute-sanitizer memcheck (tiny, prefill + decode, graph)" bash -c "'$CS' --tool memcheck --error-exitcode 3 '$RUN' logits '$HYB/tiny.hyb' --random-weights 3 --prompt 'Hello, hybrid world' --device cuda --decode-from 4 -o '$T/cs.npy' > '$T/cs.log' 2>&1; rc=\$?; if grep -q 'ERROR SUMMARY: 0 errors' '$T/cs.log' && [ \$rc = 0 ]; then tail -1 '$T/cs.log'; else head -40 '$T/cs.log'; exit 1; fi"
else
  echo "SKIP compute-sanitizer: not installed"
fi
rm -rf "$T"
echo "gpu tests: $fails failed"
[ $fails = 0 ]
