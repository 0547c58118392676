# Copyright (c) ltplug contributors. All rights reserved.
import os.path as osp

import numpy as np
import pytest
from mmpretrain.registry import TRANSFORMS
from PIL import Image

import ltplug.datasets.transforms  # noqa: F401  (registers the transform)
from ltplug.datasets.transforms import CorruptImageError


@pytest.fixture
def jpeg(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (64, 64, 3)).astype(np.uint8)
    path = str(tmp_path / 'ok.jpg')
    Image.fromarray(img).save(path, quality=90)
    return path


def test_good_file_loads(jpeg):
    t = TRANSFORMS.build(dict(type='LoadImageFromFileChecked'))
    out = t(dict(img_path=jpeg))
    assert out['img'].shape == (64, 64, 3)
    assert out['img_shape'] == (64, 64)


def test_truncated_file_is_reported(jpeg, tmp_path):
    data = open(jpeg, 'rb').read()
    bad = str(tmp_path / 'truncated.jpg')
    with open(bad, 'wb') as f:
        f.write(data[:len(data) // 2])
    t = TRANSFORMS.build(dict(type='LoadImageFromFileChecked'))
    with pytest.raises(CorruptImageError, match='truncated.jpg'):
        t(dict(img_path=bad))


def test_garbage_and_missing_files(tmp_path):
    bad = str(tmp_path / 'garbage.png')
    with open(bad, 'wb') as f:
        f.write(b'not an image at all')
    t = TRANSFORMS.build(dict(type='LoadImageFromFileChecked'))
    with pytest.raises(CorruptImageError, match='garbage.png'):
        t(dict(img_path=bad))
    with pytest.raises(FileNotFoundError, match='missing.png'):
        t(dict(img_path=osp.join(str(tmp_path), 'missing.png')))


def test_ignore_empty_is_refused():
    with pytest.raises(ValueError, match='ignore_empty'):
        TRANSFORMS.build(
            dict(type='LoadImageFromFileChecked', ignore_empty=True))
