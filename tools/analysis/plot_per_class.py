# Copyright (c) ltplug contributors. All rights reserved.
"""Plot per-class accuracy against the training count of each class.

Inputs are the ``per_class_accuracy.json`` files that ``ShotAccuracy``
writes next to the log (``work_dir/<timestamp>/``), work dirs given with
``--work-dir`` (the latest ``per_class_accuracy.json`` found there is
used), or prediction pickles from ``tools/test.py CONFIG CKPT --out
preds.pkl`` together with ``--class-counts``. Several inputs (e.g. CE and
Balanced Softmax) are drawn on one figure. Classes are sorted by training
count (head left, tail right); the many / medium / few groups are shaded
and the training counts are drawn as grey bars on a log-scale secondary
axis.

Example::

    python tools/analysis/plot_per_class.py \\
        work_dirs/ce/*/per_class_accuracy.json \\
        work_dirs/bs/*/per_class_accuracy.json \\
        --labels CE "Balanced Softmax" --output per_class.png
    python tools/analysis/plot_per_class.py \\
        --work-dir work_dirs/ce work_dirs/bs --output per_class.png
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np

GROUP_COLORS = dict(many='#4c72b0', medium='#dd8452', few='#c44e52')
PER_CLASS_FILE = 'per_class_accuracy.json'


def find_per_class_json(work_dir: str,
                        file_name: str = PER_CLASS_FILE) -> str:
    """The latest per-class JSON of a work dir.

    ``ShotAccuracy`` writes it next to the log, i.e. in
    ``work_dir/<timestamp>/`` for every training or test run (and rewrites
    it at every validation). The most recently modified
    ``work_dir/*/<file_name>`` (or ``work_dir/<file_name>``) is returned; on
    equal times the last in name order, i.e. the latest timestamp.

    Args:
        work_dir (str): A run's work dir (``--work-dir`` of
            ``tools/train.py`` / ``tools/test.py``).
        file_name (str): Name of the JSON. Defaults to
            ``'per_class_accuracy.json'``.

    Returns:
        str: Path of the JSON.

    Raises:
        FileNotFoundError: If ``work_dir`` is not a folder or holds no such
            file.
    """
    if not osp.isdir(work_dir):
        raise FileNotFoundError(f'work dir {work_dir!r} is not a folder')
    found = sorted(
        glob.glob(osp.join(glob.escape(work_dir), file_name)) +
        glob.glob(osp.join(glob.escape(work_dir), '*', file_name)))
    if not found:
        raise FileNotFoundError(
            f'no {file_name} in {work_dir!r} or its <timestamp>/ folders; '
            'it is written by ShotAccuracy (save_per_class=True) during '
            'validation / testing')
    return max(reversed(found), key=osp.getmtime)


def _load_counts(spec: str) -> List[int]:
    """Counts from a JSON list file, a text file or ``'5,3,1'``."""
    if osp.isfile(spec):
        with open(spec) as f:
            text = f.read()
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = text.split()
        if isinstance(data, dict):
            data = data['class_counts']
        return [int(x) for x in data]
    return [int(x) for x in spec.split(',') if x.strip()]


def per_class_from_predictions(pkl_path: str, class_counts: Sequence[int],
                               many_thr: int = 100, few_thr: int = 20,
                               inclusive: bool = False) -> Dict:
    """The per-class JSON payload computed from a prediction pickle.

    Args:
        pkl_path (str): ``tools/test.py --out`` file (a list of dicts with
            ``gt_label`` and ``pred_score``/``pred_label``).
        class_counts (Sequence[int]): Training counts per class.
        many_thr (int): Many-shot threshold. Defaults to 100.
        few_thr (int): Few-shot threshold. Defaults to 20.
        inclusive (bool): NCL's inclusive rule. Defaults to False.

    Returns:
        dict: The same layout as ``ShotAccuracy``'s JSON.
    """
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    if root not in sys.path:
        sys.path.insert(0, root)
    import mmengine

    from ltplug.evaluation.metrics import ShotAccuracy

    preds = mmengine.load(pkl_path)
    metric = ShotAccuracy(
        class_counts=class_counts,
        many_thr=many_thr,
        few_thr=few_thr,
        inclusive=inclusive,
        save_per_class=False)
    metric.process(None, preds)
    counts = np.asarray(class_counts)
    summary, per = metric.evaluate_arrays(np.stack(metric.results), counts)
    rows = []
    for c in range(len(counts)):
        group = ('many' if per['many'][c] else
                 'few' if per['few'][c] else 'medium')
        acc = per['acc'][c]
        rows.append(
            dict(
                label=c,
                name=str(c),
                train_count=int(counts[c]),
                group=group,
                num_test=int(per['num_test'][c]),
                top1=None if np.isnan(acc) else float(acc)))
    return dict(summary=summary, per_class=rows)


def load_input(path: str, args: argparse.Namespace) -> Dict:
    """Read one input (JSON payload, or a pickle with ``--class-counts``)."""
    if path.endswith('.json'):
        with open(path) as f:
            return json.load(f)
    if args.class_counts is None:
        raise ValueError(f'{path} is not a per-class JSON; a prediction '
                         'pickle needs --class-counts')
    return per_class_from_predictions(path, _load_counts(args.class_counts),
                                      args.many_thr, args.few_thr,
                                      args.inclusive)


def plot(payloads: Sequence[Dict],
         labels: Sequence[str],
         output: str,
         title: Optional[str] = None) -> str:
    """Draw the figure and save it as a PNG.

    Args:
        payloads (Sequence[dict]): Per-class payloads (``per_class`` rows
            with ``train_count``, ``group``, ``top1``). All must describe
            the same classes.
        labels (Sequence[str]): Legend label of each payload.
        output (str): PNG path.
        title (str, optional): Figure title. Defaults to None.

    Returns:
        str: ``output``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    base = payloads[0]['per_class']
    counts = np.array([r['train_count'] for r in base])
    for p in payloads[1:]:
        other = np.array([r['train_count'] for r in p['per_class']])
        if other.shape != counts.shape or (other != counts).any():
            raise ValueError('inputs describe different classes / counts')
    # head classes first; ties keep the label order
    order = np.argsort(-counts, kind='stable')
    x = np.arange(len(order))
    groups = np.array([base[i]['group'] for i in order])

    fig, ax = plt.subplots(figsize=(max(6., min(16., 0.12 * len(x) + 5)),
                                    4.5))
    ax2 = ax.twinx()
    ax2.bar(x, counts[order], width=1.0, color='0.8', alpha=0.6, zorder=0)
    ax2.set_yscale('log')
    ax2.set_ylabel('training images (log)')
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)

    for g, color in GROUP_COLORS.items():
        idx = np.flatnonzero(groups == g)
        if idx.size:
            ax.axvspan(idx.min() - 0.5, idx.max() + 0.5, color=color,
                       alpha=0.08, lw=0)
            ax.text((idx.min() + idx.max()) / 2, 101.5,
                    f'{g} ({idx.size})', ha='center', va='bottom',
                    fontsize=9, color=color)

    for payload, label in zip(payloads, labels):
        acc = np.array([
            np.nan if r['top1'] is None else r['top1']
            for r in payload['per_class']
        ])[order]
        summary = payload.get('summary', {})
        text = label
        if summary.get('top1') is not None:
            text += f" (top-1 {summary['top1']:.1f})"
        ax.plot(x, acc, marker='o', ms=3 if len(x) <= 200 else 0, lw=1.2,
                label=text)
    ax.set_xlim(-0.5, len(x) - 0.5)
    ax.set_ylim(0, 108)
    ax.set_xlabel('classes sorted by training count')
    ax.set_ylabel('per-class top-1 accuracy (%)')
    if len(x) <= 30:
        ax.set_xticks(x)
        ax.set_xticklabels([base[i]['name'] for i in order], rotation=45,
                           ha='right', fontsize=8)
    ax.legend(loc='lower left', fontsize=9)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    out_dir = osp.dirname(osp.abspath(output))
    os.makedirs(out_dir, exist_ok=True)
    fig.savefig(output, dpi=120)
    plt.close(fig)
    return output


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Per-class accuracy vs. training count')
    parser.add_argument(
        'inputs',
        nargs='*',
        help='per_class_accuracy.json files (ShotAccuracy) or prediction '
        'pickles (tools/test.py --out, needs --class-counts)')
    parser.add_argument(
        '--work-dir',
        nargs='+',
        default=[],
        dest='work_dirs',
        metavar='WORK_DIR',
        help='work dirs: the latest per_class_accuracy.json of each is '
        'plotted (after the inputs)')
    parser.add_argument(
        '--labels',
        nargs='+',
        help='legend labels, inputs first, then work dirs (default: the '
        'folder names)')
    parser.add_argument(
        '--class-counts',
        help='for pickles: training counts as a JSON list / text file or '
        '"n0,n1,..."')
    parser.add_argument('--many-thr', type=int, default=100)
    parser.add_argument('--few-thr', type=int, default=20)
    parser.add_argument('--inclusive', action='store_true')
    parser.add_argument(
        '--output', '-o', default='per_class_accuracy.png', help='PNG path')
    parser.add_argument('--title')
    args = parser.parse_args(argv)
    total = len(args.inputs) + len(args.work_dirs)
    if not total:
        parser.error('give per-class JSON / pickle inputs or --work-dir')
    if args.labels is not None and len(args.labels) != total:
        parser.error(f'{len(args.labels)} labels for {total} inputs')
    return args


def main(argv=None) -> str:
    """Entry point; returns the PNG path."""
    args = parse_args(argv)
    found = [find_per_class_json(d) for d in args.work_dirs]
    for d, path in zip(args.work_dirs, found):
        print(f'{d}: {path}')
    payloads = [load_input(p, args) for p in args.inputs + found]
    labels = args.labels or [
        osp.basename(osp.dirname(osp.abspath(p))) or p for p in args.inputs
    ] + [osp.basename(osp.abspath(d)) or d for d in args.work_dirs]
    out = plot(payloads, labels, args.output, args.title)
    print(f'saved {out}')
    return out


if __name__ == '__main__':
    main()
