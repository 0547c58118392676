# Copyright (c) ltplug contributors. All rights reserved.
"""Pure, vectorised helpers shared by the long-tailed samplers.

Nothing here touches the distributed state or a dataset object except
:func:`dataset_labels` (which only reads labels); everything else works on
numpy arrays so it can be tested directly.
"""
import math
from typing import Any, Tuple

import numpy as np

__all__ = [
    'dataset_labels', 'group_by_class', 'check_nonempty_classes',
    'rank_partition', 'padded_total', 'sample_within_classes',
    'cyclic_class_draws', 'draw_by_class_probs', 'resample_ratios',
    'resample_pass', 'resample_stream'
]


def dataset_labels(dataset: Any) -> Tuple[np.ndarray, int]:
    """Labels of every image and the number of classes of ``dataset``.

    Calls ``dataset.full_init()`` when present (lazy-init datasets), then
    ``dataset.get_gt_labels()``. The number of classes is
    ``len(dataset.metainfo['classes'])`` when the dataset names its classes,
    otherwise ``max(label) + 1``.

    Args:
        dataset: An MMPretrain-style dataset.

    Returns:
        tuple[np.ndarray, int]: int64 labels of shape ``(N,)`` and ``C``.

    Raises:
        ValueError: The dataset has no ``get_gt_labels``, its labels are
            missing, not one integer per image, negative, out of range for
            its classes, or it is empty. The message names the dataset type.
    """
    name = type(dataset).__name__
    if hasattr(dataset, 'full_init'):
        dataset.full_init()
    get = getattr(dataset, 'get_gt_labels', None)
    if get is None:
        raise ValueError(
            f'{name} has no get_gt_labels(); the long-tailed samplers need '
            'one integer class label per image')
    try:
        raw = get()
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError(
            f'{name} provides no class labels (get_gt_labels() failed with '
            f'{type(e).__name__}: {e}); the long-tailed samplers need one '
            'integer gt_label per image') from e
    try:
        labels = np.asarray(raw)
    except ValueError as e:  # ragged (multi-label) lists
        raise ValueError(f'{name} labels are not one integer per image: '
                         f'{e}') from e
    if labels.ndim != 1 or labels.dtype == object or \
            not (np.issubdtype(labels.dtype, np.integer) or
                 (np.issubdtype(labels.dtype, np.floating) and
                  np.all(np.mod(labels, 1) == 0))):
        raise ValueError(
            f'{name} labels must be one integer per image, but got an array '
            f'of dtype {labels.dtype} and shape {labels.shape}')
    labels = labels.astype(np.int64)
    if labels.size == 0:
        raise ValueError(f'{name} is empty: nothing to sample')
    if labels.min() < 0:
        raise ValueError(
            f'{name} has a negative label {int(labels.min())}')
    meta = getattr(dataset, 'metainfo', None)
    classes = meta.get('classes') if isinstance(meta, dict) else None
    num_classes = int(labels.max()) + 1
    if classes is not None and len(classes) > 0:
        if int(labels.max()) >= len(classes):
            raise ValueError(
                f'{name} has label {int(labels.max())} but only '
                f'{len(classes)} classes in its metainfo')
        num_classes = len(classes)
    return labels, num_classes


def group_by_class(labels: np.ndarray,
                   num_classes: int) -> Tuple[np.ndarray, np.ndarray,
                                              np.ndarray]:
    """Image indices grouped by class.

    Args:
        labels (np.ndarray): int labels of shape ``(N,)``.
        num_classes (int): ``C``.

    Returns:
        tuple: ``(order, counts, offsets)``: ``order`` (``(N,)``) lists the
        image indices class by class (ascending index inside a class),
        ``counts[c]`` is the number of images of class ``c`` and the images
        of class ``c`` are ``order[offsets[c]:offsets[c] + counts[c]]``.
    """
    labels = np.asarray(labels, dtype=np.int64)
    order = np.argsort(labels, kind='stable')
    counts = np.bincount(labels, minlength=num_classes).astype(np.int64)
    offsets = np.zeros(num_classes, dtype=np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    return order, counts, offsets


def check_nonempty_classes(counts: np.ndarray, owner: str,
                           dataset_name: str) -> None:
    """Raise if a class has no image (class-balanced samplers need one).

    Args:
        counts (np.ndarray): Images per class.
        owner (str): Sampler name for the message.
        dataset_name (str): Dataset type name for the message.
    """
    empty = np.flatnonzero(np.asarray(counts) == 0)
    if empty.size:
        shown = empty[:20].tolist()
        more = '' if empty.size <= 20 else f' (and {empty.size - 20} more)'
        raise ValueError(
            f'{owner} gives every class a share of the epoch, but '
            f'{dataset_name} has no image of class index {shown}{more}; '
            'remove the empty classes from the class list or use an '
            'instance-based sampler')


def padded_total(length: int, world_size: int) -> int:
    """``ceil(length / world_size) * world_size``."""
    return int(math.ceil(length / world_size)) * world_size


def rank_partition(global_order: np.ndarray, rank: int,
                   world_size: int) -> np.ndarray:
    """The part of one global order that ``rank`` reads.

    As MMEngine's ``DefaultSampler``: the order is padded by repeating it
    from its start to ``ceil(L / world_size) * world_size`` elements, then
    rank ``r`` takes ``order[r::world_size]``. Ranks are disjoint as
    positions of the padded order; their union is the padded order.

    Args:
        global_order (np.ndarray): The epoch's indices, length ``L >= 1``.
        rank (int): This rank, ``0 <= rank < world_size``.
        world_size (int): Number of ranks.

    Returns:
        np.ndarray: ``ceil(L / world_size)`` indices.
    """
    global_order = np.asarray(global_order)
    total = padded_total(len(global_order), world_size)
    if total > len(global_order):
        reps = int(math.ceil(total / len(global_order)))
        global_order = np.tile(global_order, reps)[:total]
    return global_order[rank:total:world_size]


def sample_within_classes(rng: np.random.Generator, classes: np.ndarray,
                          order: np.ndarray, counts: np.ndarray,
                          offsets: np.ndarray) -> np.ndarray:
    """One image drawn uniformly (with replacement) from each given class.

    Args:
        rng (np.random.Generator): Random generator.
        classes (np.ndarray): Class of every draw; each must be non-empty.
        order, counts, offsets: As returned by :func:`group_by_class`.

    Returns:
        np.ndarray: int64 image indices, same shape as ``classes``.
    """
    within = (rng.random(classes.shape) * counts[classes]).astype(np.int64)
    # guard the (measure-zero) float rounding to exactly counts[c]
    np.minimum(within, counts[classes] - 1, out=within)
    return order[offsets[classes] + within]


def draw_by_class_probs(rng: np.random.Generator, probs: np.ndarray,
                        length: int, order: np.ndarray, counts: np.ndarray,
                        offsets: np.ndarray) -> np.ndarray:
    """``length`` i.i.d. draws: a class from ``probs``, then an image of it.

    Args:
        rng (np.random.Generator): Random generator.
        probs (np.ndarray): Class probabilities (sum 1, zero for empty
            classes).
        length (int): Number of draws.
        order, counts, offsets: As returned by :func:`group_by_class`.

    Returns:
        np.ndarray: int64 image indices of shape ``(length,)``.
    """
    cdf = np.cumsum(probs)
    cdf /= cdf[-1]
    classes = np.searchsorted(cdf, rng.random(length), side='right')
    # never land on a zero-probability class through float rounding
    classes = np.minimum(classes, len(probs) - 1)
    return sample_within_classes(rng, classes, order, counts, offsets)


def cyclic_class_draws(rng: np.random.Generator, length: int,
                       num_samples_cls: int, order: np.ndarray,
                       counts: np.ndarray,
                       offsets: np.ndarray) -> np.ndarray:
    """Class-aware order of decoupling (Kang et al.) / SSD, vectorised.

    Classes are visited in cycles: each cycle is a fresh random permutation
    of all classes. At every visit, ``num_samples_cls`` consecutive images
    of that class are emitted, taken from the class's own cyclic stream
    (its images in a random order, reshuffled every time the stream wraps
    around). The sequence is cut to ``length`` elements.

    Args:
        rng (np.random.Generator): Random generator.
        length (int): Number of indices to emit.
        num_samples_cls (int): Consecutive images per class visit.
        order, counts, offsets: As returned by :func:`group_by_class`; all
            classes must be non-empty.

    Returns:
        np.ndarray: int64 image indices of shape ``(length,)``.
    """
    num_classes = len(counts)
    visits = -(-length // num_samples_cls)
    cycles = -(-visits // num_classes)
    # class of every visit: ``cycles`` random permutations of the classes
    # (small int dtype: numpy's stable sort below is then a radix sort)
    small = np.int16 if num_classes <= np.iinfo(np.int16).max else np.int32
    visit_cls = rng.permuted(
        np.tile(np.arange(num_classes, dtype=small), (cycles, 1)),
        axis=1).reshape(-1)[:visits]
    slot_cls = np.repeat(visit_cls, num_samples_cls)[:length]
    draws = np.bincount(slot_cls, minlength=num_classes)  # per class
    draws = draws.astype(np.int64)
    # each class's stream: ceil(draws / n) reshuffled passes over its images
    passes = -(-draws // counts)
    pool_len = passes * counts
    pool_cls = np.repeat(np.arange(num_classes), pool_len)
    pool_start = np.zeros(num_classes, dtype=np.int64)
    np.cumsum(pool_len[:-1], out=pool_start[1:])
    pos = np.arange(len(pool_cls), dtype=np.int64) - pool_start[pool_cls]
    pool_counts = counts[pool_cls]
    # shuffle inside every (class, pass) block: blocks are contiguous and in
    # increasing id order, so sorting by ``block id + U[0, 0.5)`` keeps
    # every block in place and permutes it uniformly
    block_id = np.repeat(np.arange(int(passes.sum())), np.repeat(counts,
                                                                 passes))
    key = block_id + 0.5 * rng.random(len(block_id))
    perm = np.argsort(key)
    stream = order[offsets[pool_cls] + (pos % pool_counts)[perm]]
    # the k-th slot of class c (in emission order) reads element k of that
    # class's stream
    slot_order = np.argsort(slot_cls, kind='stable')
    draw_start = np.zeros(num_classes, dtype=np.int64)
    np.cumsum(draws[:-1], out=draw_start[1:])
    sorted_cls = slot_cls[slot_order]
    k = np.arange(length, dtype=np.int64) - draw_start[sorted_cls]
    out = np.empty(length, dtype=np.int64)
    out[slot_order] = stream[pool_start[sorted_cls] + k]
    return out


def resample_ratios(counts: np.ndarray) -> np.ndarray:
    """CBD's per-class resampling ratio ``r_c = (1 / C) / (n_c / N)``.

    Args:
        counts (np.ndarray): Images per class (all > 0).

    Returns:
        np.ndarray: float64 ratios; ``sum_c n_c r_c = N``.
    """
    counts = np.asarray(counts, dtype=np.float64)
    return counts.sum() / (len(counts) * counts)


def resample_pass(rng: np.random.Generator, labels: np.ndarray,
                  ratios: np.ndarray) -> np.ndarray:
    """One pass of CBD's class-balanced over/under-sampling, shuffled.

    Image ``i`` of class ``c`` appears ``floor(r_c)`` times plus once more
    with probability ``r_c - floor(r_c)``; for ``r_c < 1`` that is "kept
    with probability ``r_c``" (CBD's ``filter`` step), for ``r_c >= 1``
    CBD's ``flat_map`` + ``repeat`` step. The pass is fully shuffled.

    Args:
        rng (np.random.Generator): Random generator.
        labels (np.ndarray): Class of every image.
        ratios (np.ndarray): ``r_c`` per class (:func:`resample_ratios`).

    Returns:
        np.ndarray: int64 image indices (random length, ``N`` on average).
    """
    r = ratios[labels]
    base = np.floor(r)
    copies = base.astype(np.int64) + (rng.random(len(r)) < r - base)
    idx = np.repeat(np.arange(len(r), dtype=np.int64), copies)
    rng.shuffle(idx)
    return idx


def resample_stream(rng: np.random.Generator, labels: np.ndarray,
                    ratios: np.ndarray, length: int) -> np.ndarray:
    """The first ``length`` indices of a stream of independent, shuffled
    :func:`resample_pass` passes.

    A pass longer than ``length`` is trimmed (a uniformly random subset,
    since it is shuffled); a shorter one is followed by the start of another
    independent pass, and so on.

    Args:
        rng (np.random.Generator): Random generator.
        labels (np.ndarray): Class of every image.
        ratios (np.ndarray): ``r_c`` per class.
        length (int): Number of indices.

    Returns:
        np.ndarray: int64 image indices of shape ``(length,)``.
    """
    parts = []
    have = 0
    while have < length:
        part = resample_pass(rng, labels, ratios)
        parts.append(part)
        have += len(part)
    return np.concatenate(parts)[:length]
