# Copyright (c) ltplug contributors. All rights reserved.
from typing import Any, Optional

import numpy as np
from mmpretrain.registry import DATA_SAMPLERS

from .base_lt_sampler import BaseLTSampler
from .utils import check_nonempty_classes, resample_ratios, resample_stream


@DATA_SAMPLERS.register_module()
class ClassBalancedResampleSampler(BaseLTSampler):
    """Class-balanced over/under-sampling of CBD (Iscen et al., BMVC'21).

    With ``r_c = N / (C * n_c)``, every pass over the data emits each image
    of class ``c`` ``floor(r_c)`` times plus once more with probability
    ``r_c - floor(r_c)``: tail images (``r_c >= 1``) are over-sampled, head
    images (``r_c < 1``) are kept with probability ``r_c``. In expectation
    each class contributes ``N / C`` indices per pass, so a pass has ``N``
    indices on average. The random decisions are redrawn every pass, as in
    CBD's ``tf.data`` pipeline (``repeat`` after the sampling ops).

    **Epoch length.** It is constant: ``num_samples`` (default ``N =
    len(dataset)``). An epoch is the first ``num_samples`` indices of a
    stream of independent, fully shuffled passes: a longer pass is trimmed
    (a uniformly random subset of it, since it is shuffled), a shorter one
    is padded with the start of another independent pass of the same
    process. So class frequencies keep CBD's expectation (uniform) and the
    length never varies.

    **Difference from the official stream.** CBD's ``tf.data`` pipeline is
    one endless stream with the copies of an image adjacent and only a
    1,000-element shuffle buffer, so copies of a tail image often land in
    the same or neighbouring batches, and its "epochs" are
    ``N // batch`` steps cut from that stream. Here every pass is shuffled
    in full (copies are spread over the epoch) and each epoch is drawn
    afresh from ``seed + epoch`` (the rest of the last pass is dropped). An
    option to keep copies adjacent is not provided.

    Args:
        dataset: The dataset (the Runner passes it).
        num_samples (int, optional): Epoch length over all ranks.
            Defaults to None (``len(dataset)``).
        seed (int, optional): Random seed. Defaults to None
            (``sync_random_seed()``).
        rank (int, optional): Rank override. Defaults to None.
        world_size (int, optional): World size override. Defaults to None.

    Raises:
        ValueError: A class has no image (``r_c`` would be infinite; its
            index is named), the dataset has no labels, or an argument is
            out of range.
    """

    def __init__(self,
                 dataset: Any,
                 num_samples: Optional[int] = None,
                 seed: Optional[int] = None,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None) -> None:
        super().__init__(
            dataset,
            num_samples=num_samples,
            seed=seed,
            rank=rank,
            world_size=world_size)
        check_nonempty_classes(self.class_counts, type(self).__name__,
                               self.dataset_name)
        self.ratios = resample_ratios(self.class_counts)

    def _draw(self, rng: np.random.Generator, length: int,
              epoch: int) -> np.ndarray:
        """First ``length`` indices of a stream of resampled passes."""
        return resample_stream(rng, self.labels, self.ratios, length)
