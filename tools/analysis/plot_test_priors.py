# Copyright (c) ltplug contributors. All rights reserved.
"""Plot top-1 accuracy against the imbalance ratio of the test prior.

SADE's test-agnostic protocol (Zhang et al., NeurIPS 2022) reports top-1
on test sets that are forward long-tailed (``rho = 50 ... 2``), uniform
(``rho = 1``) and backward long-tailed (``rho = 1/2 ... 1/50``). Here the
values come from the per-class top-1 accuracies on the balanced test set
and the training counts, both in the ``per_class_accuracy.json`` that
``ShotAccuracy`` writes next to the log of every run (the latest one of
each work dir is used, as in ``plot_per_class.py``), through
:func:`ltplug.evaluation.priors.top1_under_prior`, the function behind
``ShotAccuracy(test_priors=...)``'s ``top1_rho{rho}``: the plot and the
metric agree. A table of the values is printed too.

Example::

    python tools/analysis/plot_test_priors.py work_dirs/ce work_dirs/bs \\
        --labels CE "Balanced Softmax" --out test_priors.png
    python tools/analysis/plot_test_priors.py work_dirs/ce --out p.png \\
        --rhos 1/50 1/10 1 10 50
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Sequence

import numpy as np

_HERE = osp.dirname(osp.abspath(__file__))
_ROOT = osp.dirname(osp.dirname(_HERE))
for _path in (_ROOT, _HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from plot_per_class import find_per_class_json  # noqa: E402

from ltplug.evaluation.priors import (check_test_priors,  # noqa: E402
                                      top1_under_prior)

#: SADE's test distributions: backward 50 ... 2, uniform, forward 2 ... 50
DEFAULT_RHOS = (1 / 50, 1 / 25, 1 / 10, 1 / 5, 1 / 2, 1., 2., 5., 10., 25.,
                50.)


def parse_rho(text: str) -> float:
    """A ratio from the command line: ``'50'``, ``'0.02'`` or ``'1/50'``.

    Args:
        text (str): The value.

    Returns:
        float: The ratio (checked later: finite and ``> 0``).
    """
    try:
        if '/' in text:
            num, den = text.split('/', 1)
            return float(num) / float(den)
        return float(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f'a ratio must be a number or a fraction such as 1/50, but got '
            f'{text!r}')


def prior_curve(payload: Dict, rhos: Sequence[float]) -> List[float]:
    """Top-1 (in %) under each test prior, from a per-class payload.

    Args:
        payload (dict): A ``per_class_accuracy.json`` document
            (``per_class`` rows with ``train_count`` and ``top1``, None for
            a class without test sample).
        rhos (Sequence[float]): The imbalance ratios.

    Returns:
        list[float]: One value per ratio (see
        :func:`ltplug.evaluation.priors.top1_under_prior`).
    """
    rows = payload['per_class']
    counts = np.array([r['train_count'] for r in rows], dtype=np.int64)
    acc = np.array([np.nan if r['top1'] is None else r['top1'] for r in rows],
                   dtype=np.float64)
    return [top1_under_prior(acc, counts, rho) for rho in rhos]


def format_table(rhos: Sequence[float], labels: Sequence[str],
                 curves: Sequence[Sequence[float]]) -> str:
    """A text table: one row per ratio, one column per run.

    Args:
        rhos (Sequence[float]): The ratios.
        labels (Sequence[str]): The runs' names.
        curves (Sequence[Sequence[float]]): The values of each run.

    Returns:
        str: The table (values with 2 decimals, ``-`` for nan).
    """
    header = ['rho', *labels]
    body = [[f'{rho:g}', *['-' if np.isnan(c[i]) else f'{c[i]:.2f}'
                           for c in curves]]
            for i, rho in enumerate(rhos)]
    widths = [max(len(r[j]) for r in [header] + body)
              for j in range(len(header))]
    return '\n'.join('  '.join(f'{v:>{w}}' for v, w in zip(r, widths))
                     for r in [header] + body)


def plot(rhos: Sequence[float], labels: Sequence[str],
         curves: Sequence[Sequence[float]], out: str) -> str:
    """Draw top-1 against ``rho`` (log-scale x axis) and save a PNG.

    Args:
        rhos (Sequence[float]): The ratios.
        labels (Sequence[str]): Legend label of each curve.
        curves (Sequence[Sequence[float]]): The values of each run.
        out (str): PNG path; its folder is created when missing.

    Returns:
        str: ``out``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    order = np.argsort(rhos)
    x = np.asarray(rhos, dtype=np.float64)[order]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for label, curve in zip(labels, curves):
        ax.plot(x, np.asarray(curve)[order], marker='o', lw=1.4, label=label)
    ax.set_xscale('log')
    ax.axvline(1., color='0.6', lw=0.8, ls='--')
    ax.set_xticks(x)
    ax.set_xticklabels([f'{v:g}' if v >= 1 else f'1/{1 / v:g}' for v in x],
                       fontsize=8)
    ax.minorticks_off()
    ax.set_xlabel('test imbalance ratio rho (< 1 backward, > 1 forward)')
    ax.set_ylabel('expected top-1 accuracy (%)')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Top-1 under forward / uniform / backward test priors')
    parser.add_argument(
        'work_dirs', nargs='+', metavar='WORK_DIR',
        help='work dirs: the latest per_class_accuracy.json of each is used')
    parser.add_argument('--out', required=True, help='PNG path')
    parser.add_argument(
        '--rhos', nargs='+', type=parse_rho, default=list(DEFAULT_RHOS),
        help='imbalance ratios (numbers or fractions such as 1/50); default '
        'SADE\'s 1/50 ... 50')
    parser.add_argument(
        '--labels', nargs='+',
        help='legend labels, one per work dir (default: the folder names)')
    args = parser.parse_args(argv)
    if args.labels is not None and len(args.labels) != len(args.work_dirs):
        parser.error(f'{len(args.labels)} labels for {len(args.work_dirs)} '
                     'work dirs')
    try:
        args.rhos = list(check_test_priors(args.rhos, owner='--rhos'))
    except (TypeError, ValueError) as e:
        parser.error(str(e))
    return args


def main(argv=None) -> str:
    """Entry point; prints the table and returns the PNG path."""
    args = parse_args(argv)
    payloads = []
    for work_dir in args.work_dirs:
        path = find_per_class_json(work_dir)
        print(f'{work_dir}: {path}')
        with open(path) as f:
            payloads.append(json.load(f))
    labels = args.labels or [
        osp.basename(osp.abspath(d)) or d for d in args.work_dirs
    ]
    curves = [prior_curve(p, args.rhos) for p in payloads]
    print(format_table(args.rhos, labels, curves))
    out = plot(args.rhos, labels, curves, args.out)
    print(f'saved {out}')
    return out


if __name__ == '__main__':
    main()
