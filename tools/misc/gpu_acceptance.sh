#!/usr/bin/env bash
# GPU acceptance: every method's CIFAR-10-LT config for ~100 iterations in
# fp32 and bf16 AMP, kill -9 + --resume = uninterrupted weights,
# ShotAccuracy on the GPU, images/s per method and its ratio to CE (JSON).
#
# Where ../shared exists (once; the bundle is ignored by git):
#   bash tools/misc/gpu_acceptance.sh --prepare [BUNDLE]   # default .gpu_bundle
# On the GPU machine (torch with CUDA; no mmengine / mmcv-lite / mmpretrain
# needed, no network: they are installed from BUNDLE/wheels):
#   bash tools/misc/gpu_acceptance.sh [--bundle BUNDLE] [run options...]
#   bash tools/misc/gpu_acceptance.sh --device cpu --iters 2   # CPU smoke
# Full schedules instead (CE, Balanced Softmax, NCL on CIFAR-10-LT r100 with
# the batched augmentation of configs/batchaug/; a step-time estimate of
# each whole run after its warm-up, top-1 / many / medium / few next to the
# published figures, wall time and samples/s):
#   bash tools/misc/gpu_acceptance.sh --full [--time-budget S]
#   bash tools/misc/gpu_acceptance.sh --full --device cpu --full-iters 6 \
#       --full-warmup-iters 2 --full-timed-iters 3 ...   # CPU smoke
# Run options: see python tools/misc/gpu_acceptance.py run --help
# (--work-dir, --out, --iters, --methods, --precisions, --time-budget,
# --full, --full-methods, --full-iters ...).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=${PYTHON:-python3}

if [ "${1:-}" = "--prepare" ]; then
    BUNDLE=${2:-$ROOT/.gpu_bundle}
    exec "$PY" "$ROOT/tools/misc/gpu_acceptance.py" prepare \
        --bundle "$BUNDLE" --wheels
fi

BUNDLE=$ROOT/.gpu_bundle
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --bundle) BUNDLE=$2; shift 2 ;;
        *) ARGS+=("$1"); shift ;;
    esac
done

if ! "$PY" -c 'import mmengine, mmcv, mmpretrain' 2>/dev/null; then
    if ! ls "$BUNDLE"/wheels/*.whl >/dev/null 2>&1; then
        echo "[gpu_acceptance] mmengine / mmcv / mmpretrain missing and no" \
             "wheels in $BUNDLE/wheels (make them with --prepare)" >&2
        exit 1
    fi
    SITE=${LTPLUG_ACCEPT_SITE:-/tmp/ltplug_accept_site}
    echo "[gpu_acceptance] installing $(ls "$BUNDLE"/wheels/*.whl | wc -l)" \
         "wheels from $BUNDLE/wheels into $SITE"
    "$PY" -m pip install -q --no-index --no-deps --no-compile \
        --no-cache-dir --upgrade --target "$SITE" "$BUNDLE"/wheels/*.whl
    export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}
"$PY" -c 'import torch; print("[gpu_acceptance] torch", torch.__version__,
  "cuda", torch.cuda.is_available() and torch.cuda.get_device_name(0))'
exec "$PY" "$ROOT/tools/misc/gpu_acceptance.py" run --bundle "$BUNDLE" \
    "${ARGS[@]}"
