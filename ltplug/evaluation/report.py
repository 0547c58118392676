# Copyright (c) ltplug contributors. All rights reserved.
"""How a :class:`~ltplug.evaluation.ShotAccuracy` result is shown and
saved: the logged text table and the per-class JSON (pure functions, plus
the atomic JSON writer and the log folder lookup)."""
import json
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import MMLogger

from ltplug.utils.atomic import atomic_open

__all__ = [
    'GROUPS', 'format_shot_table', 'shot_rule_title', 'group_sizes',
    'per_class_rows', 'shot_payload', 'write_per_class_json',
    'current_log_dir'
]

GROUPS = ('many', 'medium', 'few')


def _or_none(value: float) -> Optional[float]:
    """``value`` as a float, None for nan (JSON has no nan)."""
    return None if np.isnan(value) else float(value)


def format_shot_table(summary: Dict[str, float],
                      group_sizes: Dict[str, int],
                      title: str = 'ShotAccuracy') -> str:
    """A small text table of a :class:`ShotAccuracy` result.

    One column per ``top{k}`` key of ``summary`` (in its order, the
    ``top1_rho{rho}`` priors included), per group (many, medium, few) and,
    when ``summary`` has them, for ``ece`` and ``{group}_ece``. The first
    row holds the values in % (``-`` for nan, i.e. an empty group); the
    second the number of classes behind each value (all classes for the
    top-k and ``ece`` columns, the group's for a group's columns).

    Args:
        summary (dict[str, float]): ``top{k}``, ``many``, ``medium``,
            ``few`` (unprefixed keys), as returned by
            :meth:`ShotAccuracy.evaluate_arrays`.
        group_sizes (dict[str, int]): Number of classes in each group.
        title (str): First line. Defaults to 'ShotAccuracy'.

    Returns:
        str: The table, lines joined by newlines (no trailing newline).
    """
    top_keys = [k for k in summary if k.startswith('top')]
    ece_keys = [k for k in ('ece', *(f'{g}_ece' for g in GROUPS))
                if k in summary]
    cols = top_keys + [g for g in GROUPS if g in summary] + ece_keys
    num_classes = int(sum(group_sizes.get(g, 0) for g in GROUPS))

    def classes(col: str) -> str:
        group = col[:-len('_ece')] if col.endswith('_ece') else col
        return str(int(group_sizes.get(group, 0)) if group in GROUPS else
                   num_classes)

    def fmt(v: float) -> str:
        return '-' if v is None or np.isnan(v) else f'{v:.2f}'

    rows = [
        ['', *cols],
        ['acc / ece (%)' if ece_keys else 'acc (%)',
         *[fmt(summary[c]) for c in cols]],
        ['classes', *[classes(c) for c in cols]],
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    sep = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'

    def line(r: List[str]) -> str:
        return '|' + '|'.join(f' {v:>{w}} ' for v, w in zip(r, widths)) + '|'

    out = [title, sep, line(rows[0]), sep, line(rows[1]), line(rows[2]), sep]
    return '\n'.join(out)


def shot_rule_title(name: str, prefix: Optional[str], many_thr: float,
                    few_thr: float, inclusive: bool) -> str:
    """The table's title line: the metric and its group rule.

    Args:
        name (str): The metric's class name.
        prefix (str, optional): Its key prefix.
        many_thr (float): Many-shot threshold.
        few_thr (float): Few-shot threshold.
        inclusive (bool): Whether the thresholds belong to many / few.

    Returns:
        str: e.g. ``'ShotAccuracy (shot): many = train count > 100, few =
        train count < 20, medium otherwise'``.
    """
    many_op, few_op = ('>=', '<=') if inclusive else ('>', '<')
    return (f'{name} ({prefix}): many = train count {many_op} {many_thr}, '
            f'few = train count {few_op} {few_thr}, medium otherwise')


def group_sizes(per_class: Dict[str, np.ndarray]) -> Dict[str, int]:
    """Number of classes in each group.

    Args:
        per_class (dict[str, np.ndarray]): Holds the boolean class masks
            ``many``, ``medium``, ``few``.

    Returns:
        dict[str, int]: ``many``, ``medium``, ``few`` class counts.
    """
    return {g: int(per_class[g].sum()) for g in GROUPS}


def per_class_rows(per_class: Dict[str, np.ndarray],
                   counts: Sequence[int],
                   classes: Optional[Sequence[Any]] = None) -> List[Dict]:
    """One JSON-ready dict per class.

    Args:
        per_class (dict[str, np.ndarray]): ``acc`` (top-1 in %, nan where
            the class has no test sample), ``num_test`` and the group masks,
            as returned by :meth:`ShotAccuracy.evaluate_arrays`.
        counts (Sequence[int]): Training counts, one per class.
        classes (Sequence, optional): Class names. Defaults to None (a
            class without a name is called by its index).

    Returns:
        list[dict]: ``label``, ``name``, ``train_count``, ``group``,
        ``num_test`` and ``top1`` (None for nan) of every class.
    """
    group_of = np.full(len(counts), 'medium', dtype=object)
    group_of[per_class['many']] = 'many'
    group_of[per_class['few']] = 'few'
    rows = []
    for c in range(len(counts)):
        rows.append(
            dict(
                label=c,
                name=(str(classes[c]) if classes is not None
                      and c < len(classes) else str(c)),
                train_count=int(counts[c]),
                group=str(group_of[c]),
                num_test=int(per_class['num_test'][c]),
                top1=_or_none(per_class['acc'][c])))
    return rows


def shot_payload(name: str, prefix: Optional[str], rule: Dict[str, Any],
                 summary: Dict[str, float], per_class: Dict[str, np.ndarray],
                 counts: Sequence[int],
                 classes: Optional[Sequence[Any]] = None) -> Dict[str, Any]:
    """The whole per-class JSON document.

    Args:
        name (str): The metric's class name.
        prefix (str, optional): Its key prefix.
        rule (dict): ``many_thr``, ``few_thr`` and ``inclusive``.
        summary (dict[str, float]): The unprefixed metric values.
        per_class (dict[str, np.ndarray]): See :func:`per_class_rows`.
        counts (Sequence[int]): Training counts, one per class.
        classes (Sequence, optional): Class names. Defaults to None.

    Returns:
        dict: ``metric``, ``prefix``, ``rule``, ``group_sizes``,
        ``summary`` (nan as None) and ``per_class`` (last).
    """
    return dict(
        metric=name,
        prefix=prefix,
        rule=dict(rule),
        group_sizes=group_sizes(per_class),
        summary={k: (None if np.isnan(v) else v)
                 for k, v in summary.items()},
        per_class=per_class_rows(per_class, counts, classes))


def write_per_class_json(path: str, payload: Dict[str, Any]) -> None:
    """Write ``payload`` as JSON with one line per ``per_class`` row.

    Each row is encoded by json's C encoder (``indent=`` switches json to
    its pure-Python encoder: 20x slower at 8,142 rows). The file is written
    atomically (temporary file + fsync + rename): a crash or a full disk
    mid-write keeps the previous file, never a truncated one.

    Args:
        path (str): The JSON file; its folder is created when missing.
        payload (dict): A document whose last key is ``per_class`` (a
            list), e.g. from :func:`shot_payload`. It is not modified.
    """
    if list(payload)[-1:] != ['per_class']:
        raise ValueError("payload's last key must be 'per_class', but got "
                         f'keys {list(payload)}')
    head_doc = {k: v for k, v in payload.items() if k != 'per_class'}
    folder = osp.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    head = json.dumps(head_doc)[:-1]
    with atomic_open(path, 'w') as f:
        f.write(head + (', ' if head_doc else '') + '"per_class": [\n')
        f.write(',\n'.join(json.dumps(r) for r in payload['per_class']))
        f.write('\n]}\n')


def current_log_dir() -> Optional[str]:
    """Folder of the current MMLogger's log file, if it writes one.

    Returns:
        str | None: The folder, None when no handler writes a file.
    """
    logger = MMLogger.get_current_instance()
    for handler in logger.handlers:
        filename = getattr(handler, 'baseFilename', None)
        if filename:
            return osp.dirname(filename)
    return None
