#!/usr/bin/env bash
# Train the shipped learned codecs on the CPU: one MSE base model, then 3 rate points for each
# of the three objectives (mse, msssim, dpc) fine-tuned from it, everything else equal
# (steps, learning rate and its drop, data, crops, seed), and a 4th point continued from the 3rd.
# Resumable: rerun the script and every stage continues from its runs/<stage>/state.pt.
# Usage: scripts/train_learned.sh [RUNS_DIR]
#   env: BASE_STEPS, FT_STEPS, FT_DROP (lr / 10 from this step), PARALLEL (1 or 2 queues), THREADS
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-runs}
BASE_STEPS=${BASE_STEPS:-20000}
FT_STEPS=${FT_STEPS:-4500}
FT_DROP=${FT_DROP:-3600}
PARALLEL=${PARALLEL:-2}
BENCH=${BENCH:-.venv/bin/bench}
ARCH=(--N 64 --M 80 --crop 128 --batch 8)

# The base: resume/train it in $RUNS/base (2 threads: nothing else can run yet), or, in a fresh
# checkout without that state, start the fine-tunes from the committed export of the shipped base.
if [ -f "$RUNS/base/state.pt" ] || [ ! -f codecs/learned/base-mse.pt ]; then
  "$BENCH" train "$RUNS/base" "${ARCH[@]}" --threads "${THREADS:-2}" --objective mse --lmbda 0.013 \
    --steps "$BASE_STEPS" --lr 3e-4 --export codecs/learned/base-mse.pt
  INIT="$RUNS/base/state.pt"
else
  INIT=codecs/learned/base-mse.pt
fi

# lambda ladders, low to high rate: mse and msssim from CompressAI's tables at qualities 1, 3, 5
# (about 0.1 to 0.7 bpp, where learned codecs are usually compared); dpc = (1 - MS-SSIM) +
# LPIPS-alex (alpha = beta = 1), its lambdas chosen from session-1 runs so that its rates span
# the same range (the LPIPS term keeps rates higher at a given lambda).
declare -A LAMBDA=(
  [mse-1]=0.0018 [mse-2]=0.0067 [mse-3]=0.025
  [msssim-1]=2.40 [msssim-2]=8.73 [msssim-3]=31.73
  [dpc-1]=0.6 [dpc-2]=2.4 [dpc-3]=8.73
  [mse-4]=0.0483 [msssim-4]=60.5 [dpc-4]=17.5
)
finetune() {  # STAGE (family-point) STEPS LR_DROP_STEP INIT
  local fam=${1%-*}
  "$BENCH" train "$RUNS/$1" "${ARCH[@]}" --threads 1 --objective "$fam" --lmbda "${LAMBDA[$1]}" \
    --alpha 1 --beta 1 --steps "$2" --lr 3e-4 --lr-drop-at "$3" --init "$4" --export "codecs/learned/$1.pt"
}
wait_all() {  # PIDs...: fail if any failed
  local p rc=0
  for p in "$@"; do wait "$p" || rc=1; done
  [ $rc = 0 ] || { echo "a fine-tune failed: see the logs in $RUNS" >&2; exit 1; }
}
# Two queues of about equal CPU time (a dpc step costs ~1.5 mse steps: the LPIPS network).
QUEUE_A=(dpc-2 dpc-1 dpc-3 mse-1)
QUEUE_B=(mse-2 msssim-2 msssim-1 msssim-3 mse-3)
if [ "$PARALLEL" = 2 ]; then
  (for s in "${QUEUE_A[@]}"; do finetune "$s" "$FT_STEPS" "$FT_DROP" "$INIT"; done) > "$RUNS/queue-a.log" 2>&1 & a=$!
  (for s in "${QUEUE_B[@]}"; do finetune "$s" "$FT_STEPS" "$FT_DROP" "$INIT"; done) > "$RUNS/queue-b.log" 2>&1 & b=$!
  wait_all $a $b
else
  for s in "${QUEUE_A[@]}" "${QUEUE_B[@]}"; do finetune "$s" "$FT_STEPS" "$FT_DROP" "$INIT"; done
fi

# A fourth, higher rate point per family (BD-rate needs four points): continued from the family's
# point 3 for FT4_STEPS, the same way for all three (added when the session's time was short).
FT4_STEPS=${FT4_STEPS:-2000}
pids=()
for fam in dpc mse msssim; do
  finetune "$fam-4" "$FT4_STEPS" $((FT4_STEPS * 4 / 5)) "$RUNS/$fam-3/state.pt" > "$RUNS/$fam-4.log" 2>&1 & pids+=($!)
done
wait_all "${pids[@]}"
