# Copyright (c) ltplug contributors. All rights reserved.
import logging
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmpretrain.registry import METRICS

from ltplug.datasets.utils import CLASS_COUNTS_KEY, check_class_counts
from ltplug.evaluation.calibration import (check_ece_bins,
                                           expected_calibration_error,
                                           group_ece)
from ltplug.evaluation.functional import (first_elements, group_accuracy,
                                          read_batch, sample_field,
                                          shot_groups)
from ltplug.evaluation.priors import (check_test_priors, prior_key,
                                      top1_under_prior)
from ltplug.evaluation.records import (CONFIDENCE, CORRECT, FIRST_HIT, LABEL,
                                       record_width, shot_records)
from ltplug.evaluation.report import (GROUPS, current_log_dir,
                                      format_shot_table, group_sizes,
                                      shot_payload, shot_rule_title,
                                      write_per_class_json)
from ltplug.utils.validate import check_bool, check_number

__all__ = ['ShotAccuracy', 'format_shot_table', 'GROUPS']


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

    Two optional outputs come from the same records (no second pass).
    ``ece_bins`` adds ``ece``, the expected calibration error (%) of the
    top-1 confidence over equal-width bins ``(lo, hi]`` of ``[0, 1]``, 0 in
    the first (:mod:`ltplug.evaluation.calibration`), and ``many_ece`` /
    ``medium_ece`` / ``few_ece`` over the samples of each group's classes
    (nan for a group without test sample). ``test_priors`` adds
    ``top1_rho{rho:g}`` per ratio: the top-1 expected under the test prior
    ``pi_c ∝ rho ** (-r_c / (C - 1))``, ``r_c`` the rank of class ``c`` by
    training count (SADE; ``rho = 1``: mean per-class accuracy; classes
    without test sample are left out, ``pi`` renormalised; see
    :mod:`ltplug.evaluation.priors`).

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
    the batch's ``(B, C)`` scores, see :func:`ltplug.evaluation.records.
    shot_records`); only its small result comes to the host, in one copy
    per batch: each sample is stored as one float64 record ``[label, pred,
    correct, confidence, hit@k for each k]`` (the top-1 class, whether it
    is right, the top-1 score ``max`` of ``pred_score`` as float32 or nan
    without ``pred_score``, and whether the label is in the top ``k``).
    Neither a score matrix nor a per-sample host read (``int(tensor)``) is
    involved, and distributed collection stays small even for thousands
    of classes.

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
        ece_bins (int, optional): Number of ECE bins (Guo et al. use 15);
            needs ``pred_score`` as probabilities. Defaults to None (no
            ECE).
        test_priors (Sequence[float]): Imbalance ratios ``rho > 0`` of the
            test priors, e.g. ``(50, 1, 0.02)``. Defaults to () (none).
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
                 ece_bins: Optional[int] = None,
                 test_priors: Sequence[float] = (),
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
        self.ece_bins = check_ece_bins(ece_bins, owner='ShotAccuracy')
        self.test_priors = check_test_priors(test_priors,
                                             owner='ShotAccuracy')

    # ------------------------------------------------------------------
    # per batch
    # ------------------------------------------------------------------
    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store the record of every sample (see :mod:`.records`).

        Args:
            data_batch (Any): The batch from the dataloader (unused).
            data_samples (Sequence[dict | DataSample]): The model outputs,
                with ``gt_label`` and ``pred_score`` (or only ``pred_label``
                when ``topk == (1, )``).
        """
        if len(data_samples) == 0:
            return
        labels, scores = read_batch(data_samples, 'pred_score',
                                    'ShotAccuracy')
        if scores is not None:
            # (B, C) on the scores' device
            scores = scores.reshape(scores.size(0), -1)
            self._check_num_scores(scores.size(1))
            rows = shot_records(
                first_elements(labels, device=scores.device), self.topk,
                scores=scores)
        else:
            if self.maxk > 1:
                raise ValueError(
                    f'topk={self.topk} needs pred_score in the data samples')
            if self.ece_bins is not None:
                raise ValueError(
                    f'ShotAccuracy: ece_bins={self.ece_bins} needs '
                    'pred_score (the top-1 confidence) in every data '
                    'sample, but got a batch with only pred_label')
            preds = [sample_field(s, 'pred_label') for s in data_samples]
            if any(p is None for p in preds):
                raise KeyError('ShotAccuracy needs pred_score or pred_label '
                               'in every data sample')
            preds_t = first_elements(preds)
            rows = shot_records(
                first_elements(labels, device=preds_t.device), self.topk,
                preds=preds_t)
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
            results (list[np.ndarray]): The records stored by
                :meth:`process`.

        Returns:
            dict[str, float]: ``top{k}`` for every k and ``many``,
            ``medium``, ``few`` (nan for an empty group); with ``ece_bins``
            ``ece`` and ``{group}_ece``; ``top1_rho{rho:g}`` per prior.
        """
        counts = self._resolve_counts()
        summary, per_class = self.evaluate_arrays(
            np.stack(results) if results else np.zeros(
                (0, record_width(self.topk)), np.float64), counts)
        if self.save_per_class:
            self._dump(summary, per_class, counts)
        if self.print_table:
            title = shot_rule_title(type(self).__name__, self.prefix,
                                    self.many_thr, self.few_thr,
                                    self.inclusive)
            table = format_shot_table(summary, group_sizes(per_class), title)
            MMLogger.get_current_instance().info('\n' + table)
        return summary

    def evaluate_arrays(self, rows: np.ndarray, counts: np.ndarray
                        ) -> Tuple[Dict[str, float], Dict[str, np.ndarray]]:
        """Vectorised core: metrics from the stacked records of the samples.

        Args:
            rows (np.ndarray): ``(N, 4 + len(topk))`` records as
                :meth:`process` stores them (``np.stack(self.results)``);
                further columns are ignored.
            counts (np.ndarray): Training counts, one per class.

        Returns:
            tuple: the summary dict and per-class arrays ``acc`` (top-1 in %,
            nan where no test sample), ``num_test`` and group masks.
        """
        rows = np.asarray(rows)
        width = record_width(self.topk)
        if rows.ndim != 2 or rows.shape[1] < width:
            raise ValueError(
                f'rows must be (N, >= {width}) records for topk={self.topk}'
                f', but got shape {rows.shape}')
        num_classes = len(counts)
        labels = rows[:, LABEL].astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            bad = labels[(labels < 0) | (labels >= num_classes)][0]
            raise ValueError(
                f'label {int(bad)} is out of range for the {num_classes} '
                'classes of class_counts')
        summary: Dict[str, float] = {}
        for i, k in enumerate(self.topk):
            hit = rows[:, FIRST_HIT + i] != 0
            acc = hit.mean() * 100 if labels.size else np.nan
            summary[f'top{k}'] = float(acc)
        num_test = np.bincount(labels, minlength=num_classes)
        num_hit = np.bincount(
            labels, weights=(rows[:, CORRECT] != 0).astype(np.float64),
            minlength=num_classes)
        with np.errstate(invalid='ignore', divide='ignore'):
            acc_cls = np.where(num_test > 0, num_hit / num_test * 100,
                               np.nan)
        groups = shot_groups(counts, self.many_thr, self.few_thr,
                             self.inclusive)
        summary.update(group_accuracy(acc_cls, groups))
        if self.ece_bins is not None:
            conf, hit = rows[:, CONFIDENCE], rows[:, CORRECT]
            summary['ece'] = expected_calibration_error(conf, hit,
                                                        self.ece_bins)
            summary.update(group_ece(conf, hit, labels, groups,
                                     self.ece_bins))
        for rho in self.test_priors:
            summary[prior_key(rho)] = top1_under_prior(acc_cls, counts, rho)
        per_class = dict(acc=acc_cls, num_test=num_test, **groups)
        return summary, per_class

    def _dump(self, summary: Dict[str, float],
              per_class: Dict[str, np.ndarray], counts: np.ndarray) -> None:
        """Write the per-class JSON (see :mod:`ltplug.evaluation.report`)."""
        out_dir = self.out_dir or current_log_dir()
        if out_dir is None:
            return
        rule = dict(many_thr=self.many_thr, few_thr=self.few_thr,
                    inclusive=self.inclusive)
        payload = shot_payload(type(self).__name__, self.prefix, rule,
                               summary, per_class, counts,
                               (self.dataset_meta or {}).get('classes'))
        path = osp.join(out_dir, self.file_name)
        write_per_class_json(path, payload)
        sizes = payload['group_sizes']
        print_log(
            f'ShotAccuracy: per-class accuracy written to {path} '
            f"(groups many/medium/few = {sizes['many']}/{sizes['medium']}/"
            f"{sizes['few']} classes)",
            logger='current',
            level=logging.INFO)
