#!/usr/bin/env bash
# tests/gpu/gpu_tests.sh BIN_DIR HYB_DIR - the CUDA executor against the CPU
# reference. Exit 77 (ctest: skipped) when there is no GPU.
#   - every HF fixture family: GPU logits vs the CPU reference holding the
#     GPU's storage format (--cuda-storage) within 1e-2 (max|diff|/max|ref|),
#     vs the CPU with fp32 activations and vs transformers' fp32 logits within
#     2e-2; prefill 5 + decode vs one GPU forward; the CPU's 24-token greedy run decoded teacher-forced on the
#     GPU, which picks the same token at every step or is on a near-tie
#     (free-running agreement with the CPU and transformers' fp32
#     greedy.json printed);
#   - the tiny model and the e2e families (transformer, mamba2, inter, intra
#     diff/concat): GPU vs CPU logits, and prefill+decode vs full on the GPU;
#   - 300-byte prompts (the L >= 32 prefill kernels), GPU vs CPU and
#     prefill 200 + decode vs full;
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
agree() { GOT="$1" WANT="$2" python3 -c "import os
a = os.environ['GOT'].split(','); b = os.environ['WANT'].split(','); k = 0
while k < min(len(a), len(b)) and a[k] == b[k]: k += 1
print(k)"; }
# Two oracles. The executor's arithmetic: the CPU reference holding exactly
# what the GPU stores (--cuda-storage: bf16 GEMM/embedding weights, and bf16
# every activation the CUDA plan keeps in bf16, rounded where it is written;
# fp32/fp64 arithmetic), within 1e-2. The storage format: the CPU with fp32
# activations (bf16 weights) and the fp32 model (transformers / the CPU with
# fp32 weights), with their own bound of 2e-2: on these random tiny models
# the bf16 GEMM operands alone move the CPU's own logits by up to ~7e-3
# (hf-mamba2: 7.0e-3, rms 5.0e-3), the bf16 weights by ~7e-3 more.
for f in bamba falcon_h1 llama mamba2 nemotron_h; do
  P=$(ids "$FIX/$f/prompt.json"); W="--weights $FIX/$f/model.safetensors"
  check "$f logits gpu vs cpu (cuda storage)" bash -c "'$RUN' logits '$HYB/hf-$f.hyb' $W --prompt-ids $P --device cuda -o '$T/$f.npy' > /dev/null && '$RUN' logits '$HYB/hf-$f.hyb' $W --cuda-storage --prompt-ids $P --device cpu -o '$T/$f.cs.npy' > /dev/null && '$CMP' '$T/$f.npy' '$T/$f.cs.npy' --max-rel 1e-2"
  check "$f logits gpu vs cpu fp32 activations, bf16 weights (storage bound)" bash -c "'$RUN' logits '$HYB/hf-$f.hyb' $W --bf16-weights --prompt-ids $P --device cpu -o '$T/$f.cpu16.npy' > /dev/null && '$CMP' '$T/$f.npy' '$T/$f.cpu16.npy' --max-rel 2e-2"
  check "$f logits gpu vs transformers fp32 (storage bound)" "$CMP" "$T/$f.npy" "$FIX/$f/logits.npy" --max-rel 2e-2
  check "$f prefill5+decode vs full (gpu)" bash -c "'$RUN' logits '$HYB/hf-$f.hyb' $W --prompt-ids $P --device cuda --decode-from 5 -o '$T/$f.dec.npy' > /dev/null && '$CMP' '$T/$f.dec.npy' '$T/$f.npy' --max-rel 1e-2"
  # Greedy: the CPU's 24 tokens; the GPU prefills the prompt and decodes
  # those tokens through its caches (the graph), and must pick the CPU's token
  # at every step or be on a near-tie (greedy_check.py). The free-running GPU
  # greedy and transformers' fp32 greedy.json are compared for the record.
  want=$("$RUN" generate "$HYB/hf-$f.hyb" $W --cuda-storage --prompt-ids $P --device cpu --greedy --max-new-tokens 24 2>&1 | head -1)
  got=$("$RUN" generate "$HYB/hf-$f.hyb" $W --prompt-ids $P --device cuda --greedy --max-new-tokens 24 2>&1 | head -1)
  hf=$(ids "$FIX/$f/greedy.json")
  np=$(echo "$P" | tr ',' '\n' | wc -l); forced="$P,$(echo "$want" | cut -d, -f1-23)"
  info="free-running: first $(agree "$got" "$want") of 24 equal to the CPU's, $(agree "$got" "$hf") to transformers' fp32 greedy"
  check "$f greedy 24 steps gpu vs cpu (cuda storage), teacher-forced through decode; $info" bash -c "'$RUN' logits '$HYB/hf-$f.hyb' $W --prompt-ids $forced --device cuda --decode-from $np -o '$T/$f.tf.npy' > /dev/null && '$RUN' logits '$HYB/hf-$f.hyb' $W --cuda-storage --prompt-ids $forced --device cpu -o '$T/$f.tfcpu.npy' > /dev/null && python3 '$ROOT/tests/gpu/greedy_check.py' '$T/$f.tf.npy' '$T/$f.tfcpu.npy' --prompt-len $np --tokens $want"
done
for m in tiny fam-transformer fam-mamba2 fam-inter fam-intra_diff fam-intra_concat; do
  A="--random-weights 7 --prompt State_spaces_meet_attention_and_more_tokens"
  check "$m logits gpu vs cpu (cuda storage)" bash -c "'$RUN' logits '$HYB/$m.hyb' $A --cuda-storage --device cpu -o '$T/$m.cpu.npy' > /dev/null && '$RUN' logits '$HYB/$m.hyb' $A --device cuda -o '$T/$m.gpu.npy' > /dev/null && '$CMP' '$T/$m.gpu.npy' '$T/$m.cpu.npy' --max-rel 1e-2"
  check "$m logits gpu vs cpu fp32 weights (storage bound)" bash -c "'$RUN' logits '$HYB/$m.hyb' $A --device cpu -o '$T/$m.cpu32.npy' > /dev/null && '$CMP' '$T/$m.gpu.npy' '$T/$m.cpu32.npy' --max-rel 2e-2"
  check "$m prefill3+decode vs full (gpu)" bash -c "'$RUN' logits '$HYB/$m.hyb' $A --device cuda --decode-from 3 -o '$T/$m.dec.npy' > /dev/null && '$CMP' '$T/$m.dec.npy' '$T/$m.gpu.npy' --max-rel 1e-2"
done
# Long prompts (300 bytes): the prefill kernels for L >= 32 (the chunked
# tensor-core scan, the tensor-core attention), and their caches handed to decode.
LONG=$(python3 -c "print(('Hybrid_models_mix_attention_with_state_space_scans_' * 8)[:300])")
for m in tiny fam-mamba2 fam-inter fam-intra_diff hf-bamba; do
  W="--random-weights 11"; [ "$m" = hf-bamba ] && W="--weights $FIX/bamba/model.safetensors"
  A="$W --prompt $LONG"
  check "$m long prompt (300) logits gpu vs cpu (cuda storage)" bash -c "'$RUN' logits '$HYB/$m.hyb' $A --cuda-storage --device cpu -o '$T/$m.lcpu.npy' > /dev/null && '$RUN' logits '$HYB/$m.hyb' $A --device cuda -o '$T/$m.lgpu.npy' > /dev/null && '$CMP' '$T/$m.lgpu.npy' '$T/$m.lcpu.npy' --max-rel 1e-2"
  check "$m long prompt prefill 200 + decode 100 vs full (gpu)" bash -c "'$RUN' logits '$HYB/$m.hyb' $A --device cuda --decode-from 200 -o '$T/$m.ldec.npy' > /dev/null && '$CMP' '$T/$m.ldec.npy' '$T/$m.lgpu.npy' --max-rel 1e-2"
done
if command -v compute-sanitizer > /dev/null || [ -x /usr/local/cuda/bin/compute-sanitizer ]; then
  CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  check "compute-sanitizer memcheck (tiny, 300-byte prompt: prefill 280 + decode, graph)" bash -c "'$CS' --tool memcheck --error-exitcode 3 '$RUN' logits '$HYB/tiny.hyb' --random-weights 3 --prompt '$LONG' --device cuda --decode-from 280 -o '$T/cs.npy' > '$T/cs.log' 2>&1; rc=\$?; if grep -q 'ERROR SUMMARY: 0 errors' '$T/cs.log' && [ \$rc = 0 ]; then tail -1 '$T/cs.log'; else head -40 '$T/cs.log'; exit 1; fi"
else
  echo "SKIP compute-sanitizer: not installed"
fi
rm -rf "$T"
echo "gpu tests: $fails failed"
[ $fails = 0 ]
