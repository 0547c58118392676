# Copyright (c) ltplug contributors. All rights reserved.
from typing import Any, Optional

import numpy as np
from mmpretrain.registry import DATA_SAMPLERS

from ltplug.utils.validate import check_bool

from .base_lt_sampler import BaseLTSampler, _check_int
from .utils import draw_by_class_probs


@DATA_SAMPLERS.register_module()
class ProgressivelyBalancedSampler(BaseLTSampler):
    """Progressively-balanced sampling (Kang et al., ICLR'20).

    Each index is drawn i.i.d.: a class with probability

    ``p_c(t) = (1 - a_t) * n_c / N + a_t / C``, ``a_t = min(t / T, 1)``,

    then an image of that class uniformly (with replacement). ``t`` is the
    epoch set by ``set_epoch`` (0-based, as MMEngine counts) and ``T`` is
    ``total_epochs``: epoch 0 is instance-balanced and the weights move
    linearly to class-balanced. With the paper's ``t / T`` the last epoch
    ``T - 1`` still has ``a = (T - 1) / T``; ``last_epoch_balanced=True``
    uses ``a_t = t / (T - 1)`` so that the last epoch is exactly
    class-balanced. Epochs past the end stay class-balanced.

    Args:
        dataset: The dataset (the Runner passes it).
        total_epochs (int): ``T``, normally the training's ``max_epochs``
            (``>= 1``; ``>= 2`` with ``last_epoch_balanced``).
        last_epoch_balanced (bool): Reach class-balanced at epoch ``T - 1``
            instead of ``T``. Defaults to False (the paper's formula).
        **kwargs: ``num_samples``, ``seed``, ``rank`` and ``world_size``
            of :class:`BaseLTSampler`.

    Raises:
        ValueError: ``total_epochs`` is too small, or as
            :class:`BaseLTSampler` (every class needs an image).
        TypeError: ``last_epoch_balanced`` is not a bool.
    """

    requires_every_class = True

    def __init__(self,
                 dataset: Any,
                 total_epochs: int,
                 last_epoch_balanced: bool = False,
                 **kwargs) -> None:
        self.last_epoch_balanced = check_bool('last_epoch_balanced',
                                              last_epoch_balanced)
        self.total_epochs = _check_int(total_epochs, 'total_epochs',
                                       2 if self.last_epoch_balanced else 1)
        super().__init__(dataset, **kwargs)

    def balance(self, epoch: int) -> float:
        """The weight ``a_t`` of the class-balanced part at ``epoch``."""
        span = self.total_epochs - 1 if self.last_epoch_balanced \
            else self.total_epochs
        return min(epoch / span, 1.0)

    def class_probs(self, epoch: Optional[int] = None) -> np.ndarray:
        """``p_c(t)`` for ``epoch`` (default: the current epoch)."""
        a = self.balance(self.epoch if epoch is None else epoch)
        counts = self.class_counts.astype(np.float64)
        return (1.0 - a) * counts / counts.sum() + a / len(counts)

    def _draw(self, rng: np.random.Generator, length: int,
              epoch: int) -> np.ndarray:
        """I.i.d. draws from ``class_probs(epoch)``."""
        return draw_by_class_probs(rng, self.class_probs(epoch),
                                   length, self.order, self.class_counts,
                                   self.offsets)
