#!/usr/bin/env bash
# Train the shipped learned codecs on the CPU: one MSE base model, then 4 rate points for each
# of the three objectives (mse, msssim, dpc) fine-tuned from it, everything else equal.
# Resumable: rerun the script and every stage continues from its runs/<stage>/state.pt.
# Usage: scripts/train_learned.sh [RUNS_DIR]   (env: BASE_STEPS, FT_STEPS, THREADS)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-runs}
BASE_STEPS=${BASE_STEPS:-4000}
FT_STEPS=${FT_STEPS:-700}
FT_STEPS_Q3=${FT_STEPS_Q3:-1500}   # the middle rate point (trained first) got longer fine-tuning
THREADS=${THREADS:-1}
BENCH=${BENCH:-.venv/bin/bench}
ARCH=(--N 64 --M 80 --crop 128 --batch 8 --threads "$THREADS")

# The base: resume/train it in $RUNS/base, or, in a fresh checkout without that state, start the
# fine-tunes from the committed export of the shipped base (codecs/learned/base-mse.pt).
if [ -f "$RUNS/base/state.pt" ] || [ ! -f codecs/learned/base-mse.pt ]; then
  "$BENCH" train "$RUNS/base" "${ARCH[@]}" --objective mse --lmbda 0.013 --steps "$BASE_STEPS" --lr 3e-4
  INIT="$RUNS/base/state.pt"
else
  INIT=codecs/learned/base-mse.pt
fi

# lambda ladders: mse from CompressAI's MSE table (q2 q3 q4 q5), msssim from its MS-SSIM table
# (same qualities), dpc = alpha (1 - MS-SSIM) + beta LPIPS-alex with alpha = beta = 1.
declare -A LAMBDA=(
  [mse-1]=0.0035 [mse-2]=0.0067 [mse-3]=0.013 [mse-4]=0.025
  [msssim-1]=4.58 [msssim-2]=8.73 [msssim-3]=16.64 [msssim-4]=31.73
  [dpc-1]=2.4 [dpc-2]=4.58 [dpc-3]=8.73 [dpc-4]=16.64
)
for q in 3 1 4 2; do
  for fam in mse msssim dpc; do
    "$BENCH" train "$RUNS/$fam-$q" "${ARCH[@]}" --objective "$fam" --lmbda "${LAMBDA[$fam-$q]}" \
      --alpha 1 --beta 1 --steps "$([ "$q" = 3 ] && echo "$FT_STEPS_Q3" || echo "$FT_STEPS")" --lr 1e-4 --init "$INIT" \
      --export "codecs/learned/$fam-$q.pt"
  done
done
