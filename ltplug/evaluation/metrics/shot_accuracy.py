# Copyright (c) ltplug contributors. All rights reserved.
import json
import logging
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmpretrain.registry import METRICS

from ltplug.datasets.utils import CLASS_COUNTS_KEY, check_class_counts
from ltplug.evaluation.functional import (first_elements, group_accuracy,
                                          shot_groups, stack_rows)
from ltplug.utils.atomic import atomic_open
from ltplug.utils.validate import check_bool, check_number

GROUPS = ('many', 'medium', 'few')


def format_shot_table(summary: Dict[str, float],
                      group_sizes: Dict[str, int],
                      title: str = 'ShotAccuracy') -> str:
    """A small text table of a :class:`ShotAccuracy` result.

    One column per ``top{k}`` key of ``summary`` (in its order) and per
    group (many, medium, few). The first row holds the accuracies in %
    (``-`` for nan, i.e. an empty group); the second the number of classes
    behind each value (all classes for the top-k columns).

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
    cols = top_keys + [g for g in GROUPS if g in summary]
    num_classes = int(sum(group_sizes.get(g, 0) for g in GROUPS))

    def fmt(v: float) -> str:
        return '-' if v is None or np.isnan(v) else f'{v:.2f}'

    rows = [
        ['', *cols],
        ['acc (%)', *[fmt(summary[c]) for c in cols]],
        ['classes', *[
            str(num_classes if c in top_keys else int(group_sizes.get(c, 0)))
            for c in cols
        ]],
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    sep = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'

    def line(r: List[str]) -> str:
        return '|' + '|'.join(f' {v:>{w}} ' for v, w in zip(r, widths)) + '|'

    out = [title, sep, line(rows[0]), sep, line(rows[1]), line(rows[2]), sep]
    return '\n'.join(out)


def _current_log_dir() -> Optional[str]:
    """Folder of the current MMLogger's log file, if it writes one."""
    logger = MMLogger.get_current_instance()
    for handler in logger.handlers:
        filename = getattr(handler, 'baseFilename', None)
        if filename:
            return osp.dirname(filename)
    return None


@METRICS.register_module()
class ShotAccuracy(BaseMetric):
    """Top-k accuracy plus many / medium / few-shot accuracy.

    Classes are split by their **training** counts with
    :func:`ltplug.evaluation.shot_groups` (standard rule: many ``> 100``,
    few ``< 20``, medium otherwise; ``inclusive=True`` gives NCL's ``>= 100``
    / ``<= 20``). A group's accuracy is the mean of the per-class top-1
    accuracies of its classes (macro, as in OLTR / decoupling / SSD); the
    overall ``top{k}`` is plain accuracy over the test samples (micro).
    All values are percentages.

    The training counts come from ``class_counts`` or, when None, from
    ``self.dataset_meta['class_counts']``, which every ``ltplug`` LT dataset
    sets on its val/test split too.

    Result keys (with the default prefix ``'shot'``): ``shot/top1``,
    ``shot/top5`` (one per ``topk``), ``shot/many``, ``shot/medium``,
    ``shot/few``. **A group with no class reports ``nan``** (e.g. few-shot on
    CIFAR-10-LT with ratio 10), so a results table always has the three
    columns. Classes with no test sample are left out of their group's mean.

    Besides the numbers, the per-class accuracies (with each class's name,
    training count, group and number of test samples) are written as JSON to
    ``out_dir/<file_name>`` or, when ``out_dir`` is None, next to the
    current MMLogger's log file (``work_dir/<timestamp>/`` under a Runner);
    the path is logged. ``tools/analysis/plot_per_class.py`` plots it. The
    file is written atomically (a temporary file in the same folder, then a
    rename): a crash or a full disk during the write leaves the previous
    file, never a truncated one.

    Every ``pred_score`` must have one entry per class of the training
    counts: scores for another number of classes (a head of another size
    than the dataset's) raise ``ValueError`` naming both numbers instead of
    reporting an accuracy over classes that do not match.

    The top-k runs on the scores' device, once per batch (one ``topk`` over
    the batch's ``(B, C)`` scores); only its small result comes to the host,
    in one copy per batch: each sample is stored as one float64 row
    ``[label, top-1 index, ..., top-maxk index, confidence]`` (the indices
    are exact in float64; the confidence is the top-1 score, ``max`` of
    ``pred_score``, as float32, nan without ``pred_score``). Neither a score
    matrix nor a per-sample host read (``int(tensor)``) is involved, and
    distributed collection stays small even for thousands of classes.

    Args:
        topk (int | Sequence[int]): The ``k`` of the overall top-k accuracy.
            Defaults to ``(1, )``.
        class_counts (Sequence[int], optional): Training images per class.
            Defaults to None (read ``dataset_meta['class_counts']``).
        many_thr (int): Many-shot threshold. Defaults to 100.
        few_thr (int): Few-shot threshold. Defaults to 20.
        inclusive (bool): Whether the thresholds belong to the many / few
            groups (NCL's rule). Defaults to False.
        out_dir (str, optional): Folder for the per-class JSON. Defaults to
            None (the log file's folder; nothing is written when there is
            no log file).
        file_name (str): Name of the per-class JSON. Defaults to
            ``'per_class_accuracy.json'``.
        save_per_class (bool): Write the per-class JSON. Defaults to True.
        print_table (bool): Log a table of the result (top-k, many, medium,
            few and the number of classes in each) through the current
            ``MMLogger`` at the end of every evaluation (see
            :func:`format_shot_table`). Defaults to True.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to 'cpu'.
        prefix (str, optional): Key prefix. Defaults to None (``'shot'``).
        collect_dir (str, optional): Folder for CPU collection.
            Defaults to None.
    """

    default_prefix: Optional[str] = 'shot'

    def __init__(self,
                 topk: Union[int, Sequence[int]] = (1, ),
                 class_counts: Optional[Sequence[int]] = None,
                 many_thr: int = 100,
                 few_thr: int = 20,
                 inclusive: bool = False,
                 out_dir: Optional[str] = None,
                 file_name: str = 'per_class_accuracy.json',
                 save_per_class: bool = True,
                 print_table: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        if isinstance(topk, str) or not isinstance(topk, Sequence):
            topk = (topk, )
        if len(topk) == 0:
            raise ValueError(f'ShotAccuracy: topk must name at least one k, '
                             f'but got {topk!r}')
        topk = tuple(
            check_number('topk', k, integer=True, min=1, owner='ShotAccuracy')
            for k in topk)
        many_thr = check_number('many_thr', many_thr, min=0,
                                owner='ShotAccuracy')
        few_thr = check_number('few_thr', few_thr, min=0,
                               owner='ShotAccuracy')
        if few_thr > many_thr:
            raise ValueError(f'few_thr ({few_thr}) must not exceed many_thr '
                             f'({many_thr})')
        self.topk = topk
        self.maxk = max(topk)
        self.class_counts = (None if class_counts is None else
                             check_class_counts(class_counts,
                                                allow_zero=True))
        self.many_thr = many_thr
        self.few_thr = few_thr
        self.inclusive = check_bool('inclusive', inclusive,
                                    owner='ShotAccuracy')
        self.out_dir = out_dir
        self.file_name = file_name
        self.save_per_class = check_bool('save_per_class', save_per_class,
                                         owner='ShotAccuracy')
        self.print_table = check_bool('print_table', print_table,
                                      owner='ShotAccuracy')

    # ------------------------------------------------------------------
    # per batch
    # ------------------------------------------------------------------
    @staticmethod
    def _get(sample: Any, key: str) -> Any:
        if isinstance(sample, dict):
            return sample.get(key, None)
        return getattr(sample, key, None)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store ``[label, top-maxk classes, confidence]`` of every sample.

        Args:
            data_batch (Any): The batch from the dataloader (unused).
            data_samples (Sequence[dict | DataSample]): The model outputs,
                with ``gt_label`` and ``pred_score`` (or only ``pred_label``
                when ``topk == (1, )``).
        """
        if len(data_samples) == 0:
            return
        labels = []
        scores = []
        for sample in data_samples:
            gt = self._get(sample, 'gt_label')
            if gt is None:
                raise KeyError('ShotAccuracy needs gt_label in every data '
                               f'sample, got keys {list(sample.keys())}')
            labels.append(gt)
            scores.append(self._get(sample, 'pred_score'))
        if all(s is not None for s in scores):
            # (B, C) on the scores' device: a view of the head's output when
            # the samples hold its rows, else one stack
            batch = stack_rows(scores)
            batch = batch.reshape(batch.size(0), -1)
            self._check_num_scores(batch.size(1))
            k = min(self.maxk, batch.size(1))
            values, top = batch.topk(k, dim=1)
            conf = values[:, 0].float()
            if k < self.maxk:  # fewer classes than maxk: pad with -1
                top = torch.cat(
                    [top, top.new_full((top.size(0), self.maxk - k), -1)], 1)
        else:
            if self.maxk > 1:
                raise ValueError(
                    f'topk={self.topk} needs pred_score in the data samples')
            preds = [self._get(s, 'pred_label') for s in data_samples]
            if any(p is None for p in preds):
                raise KeyError('ShotAccuracy needs pred_score or pred_label '
                               'in every data sample')
            top = first_elements(preds).unsqueeze(1)
            conf = torch.full((top.size(0), ),
                              float('nan'),
                              device=top.device)
        labels_t = first_elements(labels, device=top.device)
        # one int64 block, one copy to the host; the float32 confidence
        # travels bit for bit in the last column
        conf_bits = conf.contiguous().view(torch.int32).to(torch.int64)
        block = torch.cat(
            [labels_t[:, None], top.to(torch.int64), conf_bits[:, None]],
            dim=1).cpu().numpy()
        rows = block.astype(np.float64)
        rows[:, -1] = block[:, -1].astype(np.int32).view(np.float32)
        self.results.extend(rows)

    def _check_num_scores(self, num_scores: int) -> None:
        """Raise unless a sample's ``pred_score`` has one entry per class
        of the training counts (known once ``dataset_meta`` is set)."""
        if self.class_counts is not None:
            num_classes, source = len(self.class_counts), 'class_counts'
        else:
            counts = (self.dataset_meta or {}).get(CLASS_COUNTS_KEY)
            if counts is None:
                return  # compute_metrics says the counts are missing
            num_classes = len(counts)
            source = f"the dataset's metainfo['{CLASS_COUNTS_KEY}']"
        if num_scores != num_classes:
            raise ValueError(
                f'ShotAccuracy: the predictions have {num_scores} class '
                f'scores per sample (pred_score), but {source} has '
                f'{num_classes} classes: the model classifies another number '
                'of classes than the data (check model.head.num_classes '
                'against the dataset)')

    # ------------------------------------------------------------------
    # at the end
    # ------------------------------------------------------------------
    def _resolve_counts(self) -> np.ndarray:
        if self.class_counts is not None:
            return self.class_counts
        meta = self.dataset_meta or {}
        counts = meta.get(CLASS_COUNTS_KEY, None)
        if counts is None:
            raise ValueError(
                'ShotAccuracy needs the per-class training counts: pass '
                "class_counts=[...] or use a dataset whose metainfo has "
                f"'{CLASS_COUNTS_KEY}' (every ltplug LT dataset sets it on "
                f'all splits); dataset_meta keys are {sorted(meta)}')
        return check_class_counts(counts, allow_zero=True)

    def compute_metrics(self, results: List[np.ndarray]) -> Dict[str, float]:
        """Top-k, many / medium / few accuracies (in %) of all samples.

        Args:
            results (list[np.ndarray]): The rows stored by :meth:`process`
                (or rows without the confidence column).

        Returns:
            dict[str, float]: ``top{k}`` for every k and ``many``,
            ``medium``, ``few`` (nan for an empty group).
        """
        counts = self._resolve_counts()
        summary, per_class = self.evaluate_arrays(
            np.stack(results) if results else np.zeros(
                (0, 2 + self.maxk), np.float64), counts)
        if self.save_per_class:
            self._dump(summary, per_class, counts)
        if self.print_table:
            self._log_table(summary, per_class)
        return summary

    def _log_table(self, summary: Dict[str, float],
                   per_class: Dict[str, np.ndarray]) -> None:
        rule = ('>=' if self.inclusive else '>', '<=' if self.inclusive
                else '<')
        title = (f'{type(self).__name__} ({self.prefix}): many = train count '
                 f'{rule[0]} {self.many_thr}, few = train count {rule[1]} '
                 f'{self.few_thr}, medium otherwise')
        table = format_shot_table(
            summary, {g: int(per_class[g].sum())
                      for g in GROUPS}, title)
        MMLogger.get_current_instance().info('\n' + table)

    def evaluate_arrays(self, rows: np.ndarray, counts: np.ndarray
                        ) -> Tuple[Dict[str, float], Dict[str, np.ndarray]]:
        """Vectorised core: metrics from the stacked rows of the samples.

        Args:
            rows (np.ndarray): ``(N, 1 + maxk)`` ``[label, top-1, ...,
                top-maxk]`` per sample; further columns (the confidence
                that :meth:`process` stores) are ignored.
            counts (np.ndarray): Training counts, one per class.

        Returns:
            tuple: the summary dict and per-class arrays ``acc`` (top-1 in %,
            nan where no test sample), ``num_test`` and group masks.
        """
        rows = np.asarray(rows)
        if rows.ndim != 2 or rows.shape[1] < 1 + self.maxk:
            raise ValueError(
                f'rows must be (N, >= {1 + self.maxk}) for topk={self.topk}'
                f', but got shape {rows.shape}')
        rows = rows[:, :1 + self.maxk].astype(np.int64)
        num_classes = len(counts)
        labels = rows[:, 0]
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            bad = labels[(labels < 0) | (labels >= num_classes)][0]
            raise ValueError(
                f'label {int(bad)} is out of range for the {num_classes} '
                'classes of class_counts')
        hits = rows[:, 1:] == labels[:, None]  # (N, maxk)
        cum_hits = np.cumsum(hits, axis=1) > 0
        summary: Dict[str, float] = {}
        for k in self.topk:
            acc = cum_hits[:, k - 1].mean() * 100 if labels.size else np.nan
            summary[f'top{k}'] = float(acc)
        num_test = np.bincount(labels, minlength=num_classes)
        num_hit = np.bincount(
            labels, weights=hits[:, 0].astype(np.float64),
            minlength=num_classes)
        with np.errstate(invalid='ignore', divide='ignore'):
            acc_cls = np.where(num_test > 0, num_hit / num_test * 100,
                               np.nan)
        groups = shot_groups(counts, self.many_thr, self.few_thr,
                             self.inclusive)
        summary.update(group_accuracy(acc_cls, groups))
        per_class = dict(acc=acc_cls, num_test=num_test, **groups)
        return summary, per_class

    def _dump(self, summary: Dict[str, float],
              per_class: Dict[str, np.ndarray], counts: np.ndarray) -> None:
        out_dir = self.out_dir or _current_log_dir()
        if out_dir is None:
            return
        classes = (self.dataset_meta or {}).get('classes', None)
        group_of = np.full(len(counts), 'medium', dtype=object)
        group_of[per_class['many']] = 'many'
        group_of[per_class['few']] = 'few'
        rows = []
        for c in range(len(counts)):
            acc = per_class['acc'][c]
            rows.append(
                dict(
                    label=c,
                    name=(str(classes[c]) if classes is not None
                          and c < len(classes) else str(c)),
                    train_count=int(counts[c]),
                    group=str(group_of[c]),
                    num_test=int(per_class['num_test'][c]),
                    top1=None if np.isnan(acc) else float(acc)))
        payload = dict(
            metric=type(self).__name__,
            prefix=self.prefix,
            rule=dict(
                many_thr=self.many_thr,
                few_thr=self.few_thr,
                inclusive=self.inclusive),
            group_sizes={g: int(per_class[g].sum())
                         for g in GROUPS},
            summary={
                k: (None if np.isnan(v) else v)
                for k, v in summary.items()
            },
            per_class=rows)
        os.makedirs(out_dir, exist_ok=True)
        path = osp.join(out_dir, self.file_name)
        # one line per class, each encoded by json's C encoder (indent=
        # switches json to its pure-Python encoder: 20x slower at 8,142 rows)
        rows = payload.pop('per_class')
        head = json.dumps(payload)[:-1]
        # temp file + fsync + rename: a crash or a full disk mid-write keeps
        # the previous file, never a truncated one
        with atomic_open(path, 'w') as f:
            f.write(head + ', "per_class": [\n')
            f.write(',\n'.join(json.dumps(r) for r in rows))
            f.write('\n]}\n')
        print_log(
            f'ShotAccuracy: per-class accuracy written to {path} '
            f'(groups many/medium/few = '
            f"{payload['group_sizes']['many']}/"
            f"{payload['group_sizes']['medium']}/"
            f"{payload['group_sizes']['few']} classes)",
            logger='current',
            level=logging.INFO)
