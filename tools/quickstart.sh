#!/usr/bin/env bash
# The first run: Fashion-MNIST made long-tailed (ratio 100) trained with
# cross-entropy and with Balanced Softmax on CPU, then both many / medium /
# few tables side by side and the per-class plot.
#
# Usage: bash tools/quickstart.sh [WORK_DIR] [train.py args...]
#   WORK_DIR defaults to work_dirs/quickstart; extra args go to both
#   trainings (e.g. --cfg-options train_cfg.max_epochs=2).
# Env: FASHION_MNIST_SRC  folder of the *-ubyte.gz files
#                         (default /usr/share/datasets/fashion-mnist, from
#                         Debian's dataset-fashion-mnist, installed here
#                         with apt-get when absent and run as root)
#      FASHION_MNIST_DATA where the prepared files go (default
#                         data/fashion_mnist)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WORK=${1:-work_dirs/quickstart}
shift || true
SRC=${FASHION_MNIST_SRC:-/usr/share/datasets/fashion-mnist}
DATA=${FASHION_MNIST_DATA:-data/fashion_mnist}
CE=configs/ce/ce_resnet20_1xb128-10e_fashion-mnist-lt.py
BS=configs/balanced_softmax/balanced-softmax_resnet20_1xb128-10e_fashion-mnist-lt.py

if [ ! -d "$SRC" ]; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "[quickstart] installing Debian's dataset-fashion-mnist"
        apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist
    else
        echo "[quickstart] $SRC not found: install Debian's dataset-fashion-mnist" \
             "(as root: apt-get install -y dataset-fashion-mnist) or set" \
             "FASHION_MNIST_SRC to a folder of the Fashion-MNIST *-ubyte.gz files" >&2
        exit 1
    fi
fi
python tools/misc/prepare_fashion_mnist.py --src "$SRC" --dst "$DATA"

ROOT_OPTS=(train_dataloader.dataset.dataset.data_root="$DATA"
           val_dataloader.dataset.dataset.data_root="$DATA"
           test_dataloader.dataset.dataset.data_root="$DATA")
for pair in "ce:$CE" "balanced_softmax:$BS"; do
    name=${pair%%:*}
    cfg=${pair#*:}
    echo "[quickstart] training $name: $cfg"
    python tools/train.py "$cfg" --work-dir "$WORK/$name" "$@" \
        --cfg-options "${ROOT_OPTS[@]}"
done

python - "$WORK" <<'PY'
import glob
import json
import os.path as osp
import sys

from ltplug.evaluation.metrics.shot_accuracy import format_shot_table

work = sys.argv[1]
for name, title in (('ce', 'Cross-entropy'),
                    ('balanced_softmax', 'Balanced Softmax')):
    path = sorted(glob.glob(osp.join(work, name, '*',
                                     'per_class_accuracy.json')))[-1]
    with open(path) as f:
        res = json.load(f)
    summary = {k: float('nan') if v is None else v
               for k, v in res['summary'].items()}
    print(format_shot_table(summary, res['group_sizes'], title))
PY

python tools/analysis/plot_per_class.py \
    "$(ls -d "$WORK"/ce/*/per_class_accuracy.json | tail -1)" \
    "$(ls -d "$WORK"/balanced_softmax/*/per_class_accuracy.json | tail -1)" \
    --labels CE "Balanced Softmax" --output "$WORK/per_class.png"
echo "[quickstart] per-class plot: $WORK/per_class.png"
