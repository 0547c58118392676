# Copyright (c) ltplug contributors. All rights reserved.
"""Fixtures of the batched-augmentation tests."""
import numpy as np
import pytest
import torch

from tests.support.batch_augment_cases import make_images


@pytest.fixture(scope='module')
def images() -> np.ndarray:
    """48 varied 32 x 32 RGB uint8 images, NHWC."""
    return make_images()


@pytest.fixture(scope='module')
def batch(images) -> torch.Tensor:
    """The same images as a float NCHW batch of uint8 values."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float()
