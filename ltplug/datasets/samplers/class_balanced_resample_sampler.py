# Copyright (c) ltplug contributors. All rights reserved.
from typing import Any

import numpy as np
from mmpretrain.registry import DATA_SAMPLERS

from .base_lt_sampler import BaseLTSampler
from .utils import resample_ratios, resample_stream


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
        **kwargs: ``num_samples``, ``seed``, ``rank`` and ``world_size``
            of :class:`BaseLTSampler`.

    Raises:
        ValueError: As :class:`BaseLTSampler`; every class needs an image
            (``r_c`` would be infinite).
    """

    requires_every_class = True

    def __init__(self, dataset: Any, **kwargs) -> None:
        super().__init__(dataset, **kwargs)
        self.ratios = resample_ratios(self.class_counts)

    def _draw(self, rng: np.random.Generator, length: int,
              epoch: int) -> np.ndarray:
        """First ``length`` indices of a stream of resampled passes."""
        return resample_stream(rng, self.labels, self.ratios, length)
