# Copyright (c) ltplug contributors. All rights reserved.
"""Tiny in-memory datasets for the data-layer tests."""
from typing import Callable, Sequence

import numpy as np
import pytest
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS


@DATASETS.register_module(name='LTToyDataset', force=True)
class LTToyDataset(BaseDataset):
    """Images are just their index; ``labels`` gives every image's class."""

    def __init__(self, labels: Sequence[int], num_classes: int = None,
                 **kwargs) -> None:
        self._toy_labels = [int(v) for v in labels]
        if num_classes is None:
            num_classes = max(self._toy_labels) + 1
        kwargs.setdefault('metainfo',
                          dict(classes=[f'c{i}' for i in range(num_classes)]))
        super().__init__(ann_file='', **kwargs)

    def load_data_list(self):
        return [dict(img=i, gt_label=v)
                for i, v in enumerate(self._toy_labels)]


def toy_labels(counts: Sequence[int], shuffle_seed: int = None) -> np.ndarray:
    """Labels with ``counts[c]`` images of class ``c`` (optionally
    shuffled)."""
    labels = np.repeat(np.arange(len(counts)), counts)
    if shuffle_seed is not None:
        np.random.default_rng(shuffle_seed).shuffle(labels)
    return labels


@pytest.fixture
def toy_dataset() -> Callable:
    """Factory: ``toy_dataset(labels, **kwargs)`` builds an LTToyDataset
    through the registry."""

    def build(labels, **kwargs):
        return DATASETS.build(
            dict(type='LTToyDataset', labels=list(labels), **kwargs))

    return build


@pytest.fixture
def make_labels() -> Callable:
    """The :func:`toy_labels` function, as a fixture."""
    return toy_labels
