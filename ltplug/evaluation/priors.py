# Copyright (c) ltplug contributors. All rights reserved.
"""Top-1 accuracy under other test-class priors (pure functions).

The test-agnostic protocol of SADE (Zhang et al., "Self-Supervised
Aggregation of Diverse Experts for Test-Agnostic Long-Tailed Recognition",
NeurIPS 2022, https://arxiv.org/abs/2107.09249) evaluates a model on test
sets whose class distribution is forward long-tailed (``rho > 1``, as the
training set), uniform (``rho = 1``) or backward long-tailed
(``rho < 1``, head and tail swapped). From the per-class top-1 accuracies
on a balanced test set, the expected top-1 on such a test set is

    top1_rho = sum_c pi_c * acc_c,   pi_c ∝ rho ** (-r_c / (C - 1))

with ``r_c`` the 0-based rank of class ``c`` by **training** count
(descending; equal counts ranked by class index). ``rho = 1`` gives the
mean per-class accuracy. Both ``ShotAccuracy(test_priors=...)`` and
``tools/analysis/plot_test_priors.py`` use :func:`top1_under_prior`.
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from ltplug.utils.validate import check_number

__all__ = ['check_test_priors', 'prior_key', 'training_ranks',
           'prior_weights', 'top1_under_prior']


def prior_key(rho: float) -> str:
    """The result key of one prior: ``top1_rho{rho:g}``.

    Args:
        rho (float): The imbalance ratio of the test prior.

    Returns:
        str: e.g. ``'top1_rho50'``, ``'top1_rho1'``, ``'top1_rho0.02'``.
    """
    return f'top1_rho{rho:g}'


def check_test_priors(test_priors: Sequence[float],
                      owner: Optional[str] = None) -> Tuple[float, ...]:
    """Check the imbalance ratios: each a finite number ``> 0``, no two
    with one key (see :func:`prior_key`).

    Args:
        test_priors (Sequence[float]): The ratios ``rho``.
        owner (str, optional): Named in the error. Defaults to None.

    Returns:
        tuple[float, ...]: The ratios as floats.
    """
    where = f'{owner}: ' if owner else ''
    if isinstance(test_priors, (str, bytes)) or not isinstance(
            test_priors, Sequence):
        raise TypeError(f'{where}test_priors must be a sequence of numbers, '
                        f'but got {test_priors!r}')
    rhos = tuple(
        check_number('test_priors', rho, min=0, min_inclusive=False,
                     owner=owner) for rho in test_priors)
    keys = [prior_key(rho) for rho in rhos]
    dup = [k for i, k in enumerate(keys) if k in keys[:i]]
    if dup:
        raise ValueError(f'{where}test_priors {list(test_priors)!r} give the '
                         f'key {dup[0]!r} twice')
    return rhos


def training_ranks(class_counts: Sequence[int]) -> np.ndarray:
    """0-based rank of each class by training count (most images first;
    equal counts by class index).

    Args:
        class_counts (Sequence[int]): Training images per class.

    Returns:
        np.ndarray: ``(C, )`` int64 ranks.
    """
    counts = np.asarray(class_counts)
    order = np.argsort(-counts, kind='stable')
    ranks = np.empty(len(counts), dtype=np.int64)
    ranks[order] = np.arange(len(counts))
    return ranks


def prior_weights(class_counts: Sequence[int], rho: float,
                       known: Optional[np.ndarray] = None) -> np.ndarray:
    """The test-class prior ``pi`` of imbalance ratio ``rho``.

    ``pi_c ∝ rho ** (-r_c / (C - 1))`` (one class: ``pi = 1``), normalised
    to sum 1 over the ``known`` classes; the other classes get 0.

    Args:
        class_counts (Sequence[int]): Training images per class.
        rho (float): Imbalance ratio, finite and ``> 0``.
        known (np.ndarray, optional): Boolean mask of the classes to
            normalise over. Defaults to None (all).

    Returns:
        np.ndarray: ``(C, )`` float64 weights (all 0 when no class is
        known).
    """
    rho = check_number('rho', rho, min=0, min_inclusive=False)
    ranks = training_ranks(class_counts)
    num = len(ranks)
    weights = (np.power(rho, -ranks / (num - 1)) if num > 1 else
               np.ones(num))
    if known is not None:
        weights = np.where(known, weights, 0.)
    total = weights.sum()
    return weights / total if total > 0 else weights


def top1_under_prior(class_acc: Sequence[float], class_counts: Sequence[int],
                     rho: float) -> float:
    """Expected top-1 (in %) if the test classes followed ``pi`` of
    :func:`prior_weights`: ``sum_c pi_c * acc_c``.

    **Classes with no test sample** (accuracy nan) are left out and
    ``pi`` is renormalised over the others; with none left, nan.

    Args:
        class_acc (Sequence[float]): Per-class top-1 in %, nan where the
            class has no test sample.
        class_counts (Sequence[int]): Training images per class.
        rho (float): Imbalance ratio of the test prior.

    Returns:
        float: The expected top-1 in %.
    """
    acc = np.asarray(class_acc, dtype=np.float64)
    if acc.shape != (len(class_counts), ):
        raise ValueError(f'class_acc has shape {acc.shape}, class_counts '
                         f'{len(class_counts)} classes')
    known = ~np.isnan(acc)
    if not known.any():
        return float('nan')
    pi = prior_weights(class_counts, rho, known)
    return float((pi[known] * acc[known]).sum())
