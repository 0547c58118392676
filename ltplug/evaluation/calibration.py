# Copyright (c) ltplug contributors. All rights reserved.
"""Expected calibration error of top-1 predictions (pure functions).

ECE as in Guo et al., "On Calibration of Modern Neural Networks", ICML
2017 (https://arxiv.org/abs/1706.04599): the top-1 confidences are put in
``num_bins`` equal-width bins on ``[0, 1]`` and

    ECE = sum_b (n_b / N) * |acc_b - conf_b| * 100

where ``n_b`` is the number of samples in bin ``b``, ``acc_b`` their top-1
accuracy and ``conf_b`` their mean confidence (in %, as every value of
:class:`~ltplug.evaluation.ShotAccuracy`).

**Bin edges.** Bin ``b`` is ``(b / B, (b + 1) / B]`` (closed on the right,
as the ``gt`` / ``le`` tests of Guo et al.'s reference code), except that
a confidence of exactly 0 goes to the first bin (the reference code drops
it). A confidence exactly on an inner edge, e.g. 0.5 with 2 bins, is in
the lower bin. The edges are ``np.linspace(0, 1, B + 1)`` in float64.
"""
from typing import Dict, Optional, Sequence

import numpy as np

from ltplug.utils.validate import check_number

__all__ = ['check_ece_bins', 'calibration_bins', 'expected_calibration_error',
           'group_ece']


def check_ece_bins(ece_bins: Optional[int],
                   owner: Optional[str] = None) -> Optional[int]:
    """Check the number of ECE bins: None (no ECE) or an int ``>= 1``.

    Args:
        ece_bins (int, optional): The number of bins.
        owner (str, optional): Named in the error. Defaults to None.

    Returns:
        int | None: ``ece_bins``.
    """
    return check_number('ece_bins', ece_bins, integer=True, min=1,
                        allow_none=True, owner=owner)


def calibration_bins(confidence: np.ndarray, num_bins: int) -> np.ndarray:
    """The bin of every confidence (see the module docstring for edges).

    Args:
        confidence (np.ndarray): ``(N, )`` top-1 confidences in ``[0, 1]``.
        num_bins (int): The number of equal-width bins.

    Returns:
        np.ndarray: ``(N, )`` int64 bin indices in ``[0, num_bins)``.
    """
    edges = np.linspace(0., 1., num_bins + 1)
    # side='left': edges[i - 1] < c <= edges[i] gives i, i.e. bin i - 1
    return np.clip(np.searchsorted(edges, confidence, side='left') - 1, 0,
                   num_bins - 1).astype(np.int64)


def expected_calibration_error(confidence: Sequence[float],
                               correct: Sequence[float],
                               num_bins: int) -> float:
    """ECE in % of top-1 predictions (Guo et al. 2017).

    The result does not depend on the order of the samples (the
    confidences are summed in sorted order), so a distributed evaluation
    gives the same bits as one process.

    Args:
        confidence (Sequence[float]): ``(N, )`` top-1 confidences (the max
            of ``pred_score``), each in ``[0, 1]``.
        correct (Sequence[float]): ``(N, )`` top-1 hits (1 or 0).
        num_bins (int): The number of equal-width bins on ``[0, 1]``.

    Returns:
        float: The ECE in %; nan when there is no sample.

    Raises:
        ValueError: A confidence is nan or outside ``[0, 1]`` (the scores
            are not probabilities); the message quotes it.
    """
    num_bins = check_ece_bins(num_bins)
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    hit = np.asarray(correct, dtype=np.float64).reshape(-1)
    if conf.shape != hit.shape:
        raise ValueError(f'confidence has {conf.size} values, correct has '
                         f'{hit.size}')
    if conf.size == 0:
        return float('nan')
    bad = np.isnan(conf) | (conf < 0) | (conf > 1)
    if bad.any():
        raise ValueError(
            'ECE needs top-1 confidences in [0, 1] (pred_score as '
            f'probabilities), but got {conf[bad][0]!r}')
    order = np.argsort(conf, kind='stable')
    conf, hit = conf[order], hit[order]
    bins = calibration_bins(conf, num_bins)
    n_b = np.bincount(bins, minlength=num_bins)
    used = np.flatnonzero(n_b)
    # sorted confidences: each bin is one contiguous run
    starts = np.concatenate([[0], np.cumsum(n_b)[:-1]])[used]
    conf_sum = np.add.reduceat(conf, starts)
    hit_sum = np.add.reduceat(hit, starts)
    gap = np.abs(hit_sum - conf_sum) / n_b[used]  # |acc_b - conf_b|
    return float((n_b[used] / conf.size * gap).sum() * 100)


def group_ece(confidence: Sequence[float], correct: Sequence[float],
              labels: Sequence[int], groups: Dict[str, np.ndarray],
              num_bins: int) -> Dict[str, float]:
    """ECE over the test samples of each group's classes.

    Args:
        confidence (Sequence[float]): ``(N, )`` top-1 confidences.
        correct (Sequence[float]): ``(N, )`` top-1 hits.
        labels (Sequence[int]): ``(N, )`` true labels.
        groups (dict[str, np.ndarray]): Boolean class masks by group name,
            e.g. from :func:`ltplug.evaluation.shot_groups`.
        num_bins (int): The number of bins.

    Returns:
        dict[str, float]: ``{name}_ece`` per group, in the order of
        ``groups``; **nan for a group without test sample** (no class, or
        no test sample of its classes), as its accuracy.
    """
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    hit = np.asarray(correct, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    out = {}
    for name, mask in groups.items():
        inside = np.asarray(mask, dtype=bool)[labels]
        out[f'{name}_ece'] = expected_calibration_error(
            conf[inside], hit[inside], num_bins)
    return out
