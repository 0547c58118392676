# Copyright (c) ltplug contributors. All rights reserved.
from typing import Any, Optional

import numpy as np
from mmpretrain.registry import DATA_SAMPLERS

from ltplug.utils.validate import check_bool

from .base_lt_sampler import BaseLTSampler, _check_int
from .utils import check_nonempty_classes, draw_by_class_probs


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
        num_samples (int, optional): Epoch length over all ranks.
            Defaults to None (``len(dataset)``).
        seed (int, optional): Random seed. Defaults to None
            (``sync_random_seed()``).
        rank (int, optional): Rank override. Defaults to None.
        world_size (int, optional): World size override. Defaults to None.

    Raises:
        ValueError: A class has no image (its index is named), the dataset
            has no labels, or an argument is out of range.
    """

    def __init__(self,
                 dataset: Any,
                 total_epochs: int,
                 last_epoch_balanced: bool = False,
                 num_samples: Optional[int] = None,
                 seed: Optional[int] = None,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None) -> None:
        self.last_epoch_balanced = check_bool('last_epoch_balanced',
                                              last_epoch_balanced)
        self.total_epochs = _check_int(total_epochs, 'total_epochs',
                                       2 if self.last_epoch_balanced else 1)
        super().__init__(
            dataset,
            num_samples=num_samples,
            seed=seed,
            rank=rank,
            world_size=world_size)
        check_nonempty_classes(self.class_counts, type(self).__name__,
                               self.dataset_name)

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
