#!/usr/bin/env bash
# Full-size learned codecs (issue 16): CompressAI's mean-scale hyperprior at the zoo's sizes,
# N=128/M=192 for the low rates and N=192/M=320 for the high ones, one family per objective
# (mse, msssim, dpc), 6 rate points each, trained the same way so that only the objective differs:
#   1. a base per size, MSE at a middle lambda of its range, BASE_STEPS;
#   2. every point fine-tuned from its size's base for FT_STEPS, lr / 10 for the last fifth.
# Data: BSDS500 + McMaster + Urban100 (never Kodak, the test set), 256-px crops, batch 8.
# Resumable: rerun and every stage continues from RUNS/<stage>/state.pt; STAGES picks stages.
# On an accelerator: DEVICE=cuda PARALLEL=9 runs the fine-tunes of a size 9 at a time (one GPU
# holds them all); MAX_MINUTES stops every stage checkpointed in time to bring the states back.
# Usage: scripts/train_full.sh [RUNS_DIR]
#   env: BASE_STEPS FT_STEPS DEVICE THREADS STAGES PARALLEL MAX_MINUTES EXPORT_DIR (default codecs/learned/full)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-runs-full}
BASE_STEPS=${BASE_STEPS:-500000}
FT_STEPS=${FT_STEPS:-100000}
DEVICE=${DEVICE:-cpu}
BENCH=${BENCH:-.venv/bin/bench}
DATA=bsds500,mcmaster,urban100
COMMON=(--crop 256 --batch 8 --lr 1e-4 --dataset "$DATA" --device "$DEVICE" --threads "${THREADS:-1}"
        --checkpoint-every 250 --alpha 1 --beta 1 ${MAX_MINUTES:+--max-minutes "$MAX_MINUTES"})
declare -A SIZE=([low]="--N 128 --M 192" [high]="--N 192 --M 320")
# lambdas, low to high rate: mse and msssim from CompressAI's zoo tables (qualities 1-3 on the
# small size, 5-7 on the large), dpc scaled from the session-1 ladder so that its rates span the same range
declare -A LAMBDA=(
  [mse-1]=0.0018 [mse-2]=0.0035 [mse-3]=0.0067 [mse-4]=0.0250 [mse-5]=0.0483 [mse-6]=0.0932
  [msssim-1]=2.40 [msssim-2]=4.58 [msssim-3]=8.73 [msssim-4]=31.73 [msssim-5]=60.50 [msssim-6]=115.37
  [dpc-1]=0.6 [dpc-2]=1.2 [dpc-3]=2.4 [dpc-4]=8.73 [dpc-5]=17.5 [dpc-6]=35.0
)
size_of() { local p=${1#*-}; [ "$p" -le 3 ] && echo low || echo high; }
base() {  # SIZE LAMBDA
  # shellcheck disable=SC2086
  "$BENCH" train "$RUNS/base-$1" ${SIZE[$1]} "${COMMON[@]}" --objective mse --lmbda "$2" --steps "$BASE_STEPS" \
    --export "$RUNS/base-$1.pt"
}
finetune() {  # STAGE
  local fam=${1%-*} size; size=$(size_of "$1")
  # shellcheck disable=SC2086
  "$BENCH" train "$RUNS/$1" ${SIZE[$size]} "${COMMON[@]}" --objective "$fam" --lmbda "${LAMBDA[$1]}" \
    --steps "$FT_STEPS" --lr-drop-at $((FT_STEPS * 4 / 5)) --init "$RUNS/base-$size/state.pt" \
    --export "${EXPORT_DIR:-codecs/learned/full}/$1.pt"
}
PARALLEL=${PARALLEL:-1}
pids=()
for stage in ${STAGES:-base-low base-high mse-1 mse-2 mse-3 mse-4 mse-5 mse-6 msssim-1 msssim-2 msssim-3 msssim-4 msssim-5 msssim-6 dpc-1 dpc-2 dpc-3 dpc-4 dpc-5 dpc-6}; do
  case $stage in
    base-low) base low 0.0067 ;;
    base-high) base high 0.0483 ;;
    *) if [ "$PARALLEL" -gt 1 ]; then
         mkdir -p "$RUNS"; finetune "$stage" > "$RUNS/$stage.log" 2>&1 & pids+=($!)
         if [ ${#pids[@]} -ge "$PARALLEL" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
       else
         finetune "$stage"
       fi ;;
  esac
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
[ $rc = 0 ] || { echo "a fine-tune failed: see the logs in $RUNS" >&2; exit 1; }
