# Copyright (c) ltplug contributors. All rights reserved.
from typing import Any, Iterator, Optional

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from ltplug.utils.validate import check_number

from .utils import (check_nonempty_classes, dataset_labels, group_by_class,
                    padded_total, rank_partition)

__all__ = ['BaseLTSampler']


def _check_int(value: Any, name: str, minimum: int) -> int:
    """``value`` as an int ``>= minimum`` (see
    :func:`ltplug.utils.validate.check_number`); TypeError / ValueError
    otherwise."""
    return check_number(name, value, integer=True, min=minimum)


class BaseLTSampler(Sampler):
    """Common part of the ``ltplug`` long-tailed samplers (not registered).

    A subclass only implements :meth:`_draw` (one global epoch order from a
    numpy generator), checks its own arguments before calling this
    ``__init__`` and passes the common ones below on as ``**kwargs``. This
    class reads the labels, splits the order across ranks and handles seed
    and epoch:

    - labels come from ``dataset.get_gt_labels()`` after
      ``dataset.full_init()``; the number of classes is
      ``len(dataset.metainfo['classes'])`` when present, otherwise
      ``max(label) + 1`` (see :func:`~.utils.dataset_labels`);
    - the global order of an epoch has ``num_samples`` indices and depends
      only on ``seed + epoch`` (``np.random.default_rng(seed + epoch)``), so
      every rank computes the same one;
    - it is padded to ``ceil(num_samples / world_size) * world_size`` by
      repeating its start, and rank ``r`` reads ``order[r::world_size]``
      (as MMEngine's ``DefaultSampler``); ``len(sampler)`` is that per-rank
      length and never changes;
    - a subclass that gives every class a share of the epoch sets
      ``requires_every_class = True``: a class without an image then raises
      ``ValueError`` naming its index (see
      :func:`~.utils.check_nonempty_classes`), once the other arguments are
      checked.

    Args:
        dataset: The dataset (the Runner passes it).
        num_samples (int, optional): Length of one epoch summed over all
            ranks. Defaults to None (``len(dataset)``).
        seed (int, optional): Random seed, identical on all ranks. Defaults
            to None (``mmengine.dist.sync_random_seed()``, as the Runner's
            ``DefaultSampler``).
        rank (int, optional): Override of this process's rank. Defaults to
            None (``mmengine.dist.get_dist_info()``).
        world_size (int, optional): Override of the number of ranks.
            Defaults to None (``mmengine.dist.get_dist_info()``).

    Raises:
        ValueError: An argument is out of range, the dataset has no labels,
            or (``requires_every_class``) a class has no image.
        TypeError: An argument is not an int.
    """

    #: Whether every class needs an image (class-balanced shares).
    requires_every_class: bool = False

    def __init__(self,
                 dataset: Any,
                 num_samples: Optional[int] = None,
                 seed: Optional[int] = None,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None) -> None:
        dist_rank, dist_world = get_dist_info()
        world_size = dist_world if world_size is None else _check_int(
            world_size, 'world_size', 1)
        rank = dist_rank if rank is None else _check_int(rank, 'rank', 0)
        if rank >= world_size:
            raise ValueError(f'rank must be < world_size={world_size}, '
                             f'but got {rank}')
        self.rank = rank
        self.world_size = world_size
        if seed is None:
            seed = sync_random_seed()
        self.seed = _check_int(seed, 'seed', 0)
        self.epoch = 0

        self.dataset = dataset
        self.dataset_name = type(dataset).__name__
        self.labels, self.num_classes = dataset_labels(dataset)
        self.order, self.class_counts, self.offsets = group_by_class(
            self.labels, self.num_classes)
        self.num_samples = len(self.labels) if num_samples is None else \
            _check_int(num_samples, 'num_samples', 1)
        self.total_size = padded_total(self.num_samples, self.world_size)
        if self.requires_every_class:
            check_nonempty_classes(self.class_counts, type(self).__name__,
                                   self.dataset_name)

    def _draw(self, rng: np.random.Generator, length: int,
              epoch: int) -> np.ndarray:
        """One global order of ``length`` dataset indices for ``epoch``."""
        raise NotImplementedError

    def global_order(self, epoch: Optional[int] = None) -> np.ndarray:
        """The unpadded order of all ranks for ``epoch`` (default: the
        current epoch)."""
        epoch = self.epoch if epoch is None else epoch
        rng = np.random.default_rng(self.seed + epoch)
        order = np.asarray(
            self._draw(rng, self.num_samples, epoch), dtype=np.int64)
        assert len(order) == self.num_samples, (len(order), self.num_samples)
        return order

    def rank_indices(self, epoch: Optional[int] = None) -> np.ndarray:
        """This rank's indices for ``epoch`` as an int64 array."""
        return rank_partition(
            self.global_order(epoch), self.rank, self.world_size)

    def __iter__(self) -> Iterator[int]:
        """Iterate this rank's indices of the current epoch."""
        return iter(self.rank_indices().tolist())

    def __len__(self) -> int:
        """The number of indices of this rank per epoch (constant)."""
        return self.total_size // self.world_size

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch; the order is drawn from ``seed + epoch``.

        Args:
            epoch (int): Epoch number (``DistSamplerSeedHook`` calls this).
        """
        self.epoch = _check_int(epoch, 'epoch', 0)
