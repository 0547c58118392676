# Copyright (c) ltplug contributors. All rights reserved.
from typing import Any

import numpy as np
from mmpretrain.registry import DATA_SAMPLERS

from ltplug.utils.validate import check_number

from .base_lt_sampler import BaseLTSampler
from .utils import draw_by_class_probs


@DATA_SAMPLERS.register_module()
class SquareRootSampler(BaseLTSampler):
    """Square-root (power ``q``) sampling (Mahajan et al.; Kang et al.).

    Each index is drawn i.i.d.: a class ``c`` with probability
    ``p_c = n_c^q / sum_k n_k^q``, then an image of ``c`` uniformly (with
    replacement). ``q=0.5`` is square-root sampling, ``q=1`` instance-
    balanced (with replacement), ``q=0`` class-balanced. Empty classes get
    probability 0 (``0^q``, also for ``q=0``).

    Args:
        dataset: The dataset (the Runner passes it).
        q (float): Power of the class counts, ``>= 0``. Defaults to 0.5.
        **kwargs: ``num_samples``, ``seed``, ``rank`` and ``world_size``
            of :class:`BaseLTSampler`.
    """

    def __init__(self,
                 dataset: Any,
                 q: float = 0.5,
                 **kwargs) -> None:
        self.q = check_number('q', q, min=0)
        super().__init__(dataset, **kwargs)
        counts = self.class_counts.astype(np.float64)
        weights = np.where(counts > 0, counts**self.q, 0.0)
        self.class_probs = weights / weights.sum()

    def _draw(self, rng: np.random.Generator, length: int,
              epoch: int) -> np.ndarray:
        """I.i.d. draws: class from ``class_probs``, then an image."""
        return draw_by_class_probs(rng, self.class_probs, length, self.order,
                                   self.class_counts, self.offsets)
