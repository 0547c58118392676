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


def write_fake_cifar100(root: str, train_per_class: int = 500,
                        test_per_class: int = 100) -> str:
    """Write a synthetic ``cifar-100-python`` folder (official pickle layout,
    md5s not official) under ``root`` and return ``root``.

    Image ``i`` of a split has label ``i % 100`` and stores ``i`` in its
    first two bytes (``data[i, 0] = i // 256``, ``data[i, 1] = i % 256``),
    so tests can tell which images a subset kept.
    """
    import os
    import os.path as osp
    import pickle

    folder = osp.join(root, 'cifar-100-python')
    os.makedirs(folder, exist_ok=True)
    for name, per_class in (('train', train_per_class),
                            ('test', test_per_class)):
        n = 100 * per_class
        data = np.zeros((n, 3072), dtype=np.uint8)
        idx = np.arange(n)
        data[:, 0] = idx // 256
        data[:, 1] = idx % 256
        entry = {
            'filenames': [f'{name}_{i}.png' for i in range(n)],
            'batch_label': f'fake {name}',
            'fine_labels': (idx % 100).tolist(),
            'coarse_labels': (idx % 20).tolist(),
            'data': data,
        }
        with open(osp.join(folder, name), 'wb') as f:
            pickle.dump(entry, f)
    with open(osp.join(folder, 'meta'), 'wb') as f:
        pickle.dump({'fine_label_names': [f'fake{i}' for i in range(100)],
                     'coarse_label_names': [f'super{i}'
                                            for i in range(20)]}, f)
    return root


@pytest.fixture(scope='session')
def cifar100_fake_root(tmp_path_factory) -> str:
    """A synthetic ``cifar-100-python`` folder (see
    :func:`write_fake_cifar100`); there is no real CIFAR-100 here."""
    return write_fake_cifar100(str(tmp_path_factory.mktemp('cifar100')))
