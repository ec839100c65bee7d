#!/usr/bin/env bash
# The run half of the main job (tools/demo.sh): generate from seeded random
# weights, train briefly on real English text, generate again. It needs only
# the runtime (hybrid-run), so the GPU machine runs it as it is, on an
# artifact compiled elsewhere (tools/gpu/prepare.sh: .carry/hyb/tiny-train.hyb):
#   tools/demo-run.sh BIN_DIR MODEL.hyb DEVICE CORPUS[,CORPUS...] OUT_DIR
set -euo pipefail
bin=$1 hyb=$2 device=$3 corpus=$4 out=$5
steps=${HYBRIDC_DEMO_STEPS:-150}
echo
echo "== before training (seeded random weights):"
"$bin/hybrid-run" generate "$hyb" --random-weights 1 --prompt "The meaning of life is " \
  --max-new-tokens 48 --top-k 20 --temperature 0.8 --seed 3 --device "$device" | tail -n +2
echo
echo "== hybrid-run train $(basename "$hyb") --data fortunes --steps $steps --batch 8 --seq 64 --device $device"
"$bin/hybrid-run" train "$hyb" --data "$corpus" --steps "$steps" --batch 8 --seq 64 \
  --lr 3e-3 --seed 1 --log-every 25 --out "$out/run" --overwrite --device "$device"
echo
echo "== after training: hybrid-run generate --device $device"
"$bin/hybrid-run" generate "$hyb" --weights "$out/run/weights.safetensors" \
  --prompt "The meaning of life is " --max-new-tokens 80 --top-k 20 --temperature 0.8 --seed 3 \
  --device "$device" | tail -n +2
echo
echo "(loss curve: $out/run/loss.svg, $out/run/loss.csv)"
