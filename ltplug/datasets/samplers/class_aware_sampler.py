# Copyright (c) ltplug contributors. All rights reserved.
from typing import Any

import numpy as np
from mmpretrain.registry import DATA_SAMPLERS

from .base_lt_sampler import BaseLTSampler, _check_int
from .utils import cyclic_class_draws


@DATA_SAMPLERS.register_module()
class ClassAwareSampler(BaseLTSampler):
    """Class-aware sampler of decoupling (Kang et al., ICLR'20) and SSD
    stage II.

    Every class gets the same share of an epoch. Classes are visited in
    cycles, each cycle a fresh random permutation of all classes; at every
    visit ``num_samples_cls`` consecutive indices of that class are emitted.
    They come from the class's own cyclic stream: its images in random
    order, reshuffled each time the stream wraps around, so inside one epoch
    an image of a tail class repeats only after all its class-mates. This
    is the semantics of ``classifier-balancing``'s ``RandomCycleIter`` +
    ``class_aware_sample_generator``; SSD stage II uses
    ``num_samples_cls=2``.

    Differences from the official code (documented choices):

    - the epoch length defaults to ``len(dataset)`` (SSD's
      ``|dataset| / world_size`` per rank; decoupling defaulted to
      ``max_count * C``); set ``num_samples`` for another length;
    - one global order is drawn and split across ranks (SSD first shards a
      random permutation per rank, then samples class-aware on each shard,
      skipping classes a rank lacks);
    - the streams restart every epoch from ``seed + epoch`` instead of
      continuing where the previous epoch stopped, so an epoch is
      reproducible on its own (needed for resuming).

    Args:
        dataset: The dataset (the Runner passes it).
        num_samples_cls (int): Consecutive indices per class visit.
            Defaults to 1.
        **kwargs: ``num_samples``, ``seed``, ``rank`` and ``world_size``
            of :class:`BaseLTSampler`.

    Raises:
        ValueError: ``num_samples_cls < 1``, or as
            :class:`BaseLTSampler` (every class needs an image).
    """

    requires_every_class = True

    def __init__(self,
                 dataset: Any,
                 num_samples_cls: int = 1,
                 **kwargs) -> None:
        self.num_samples_cls = _check_int(num_samples_cls, 'num_samples_cls',
                                          1)
        super().__init__(dataset, **kwargs)

    def _draw(self, rng: np.random.Generator, length: int,
              epoch: int) -> np.ndarray:
        """Cyclic class-aware order (see the class docstring)."""
        return cyclic_class_draws(rng, length, self.num_samples_cls,
                                  self.order, self.class_counts, self.offsets)
