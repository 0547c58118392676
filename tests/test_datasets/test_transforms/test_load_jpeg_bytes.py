# Copyright (c) ltplug contributors. All rights reserved.
"""LoadJPEGBytes: the encoded bytes, undecoded, the frame size from the
header, clear errors naming the file; pseudo_collate keeps the batch a
list (default_collate cannot stack different lengths)."""
import re

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.dataset import default_collate, pseudo_collate
from mmengine.registry import DefaultScope
from mmpretrain.registry import TRANSFORMS
from PIL import Image

import ltplug.datasets.transforms  # noqa: F401  (registers the transform)
from ltplug.datasets.transforms import CorruptImageError
from ltplug.datasets.transforms.load_jpeg_bytes import jpeg_size

SIZES = [(50, 37), (120, 90), (64, 101), (77, 77)]  # (w, h)


def write_jpegs(folder, sizes=SIZES, **save_kwargs):
    rng = np.random.default_rng(0)
    paths = []
    for i, (w, h) in enumerate(sizes):
        img = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
        path = str(folder / f'{i}.jpg')
        Image.fromarray(img).save(path, quality=90, **save_kwargs)
        paths.append(path)
    return paths


def build():
    return TRANSFORMS.build(dict(type='LoadJPEGBytes'))


@pytest.mark.parametrize('save_kwargs', [{}, dict(progressive=True),
                                         dict(subsampling=0)])
def test_loads_the_file_bytes_and_the_header_size(tmp_path, save_kwargs):
    for (w, h), path in zip(SIZES, write_jpegs(tmp_path, **save_kwargs)):
        out = build()(dict(img_path=path))
        raw = open(path, 'rb').read()
        assert out['img'].dtype == torch.uint8 and out['img'].dim() == 1
        assert out['img'].numpy().tobytes() == raw
        assert out['img_shape'] == out['ori_shape'] == (h, w)
        assert jpeg_size(raw) == (h, w)


def test_grayscale_jpeg_header(tmp_path):
    path = str(tmp_path / 'gray.jpg')
    Image.fromarray(np.full((30, 40), 7, np.uint8)).save(path)
    assert build()(dict(img_path=path))['img_shape'] == (30, 40)


def test_packs_through_pack_inputs_and_pseudo_collate(tmp_path):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipe = Compose([dict(type='LoadJPEGBytes'),
                        dict(type='PackInputs')])
    paths = write_jpegs(tmp_path)
    samples = [pipe(dict(img_path=p, gt_label=i)) for i, p in
               enumerate(paths)]
    batch = pseudo_collate(samples)
    assert isinstance(batch['inputs'], list)
    assert [t.numel() for t in batch['inputs']] == [
        len(open(p, 'rb').read()) for p in paths]
    assert batch['data_samples'][1].img_path == paths[1]
    assert batch['data_samples'][1].ori_shape == (90, 120)
    # default_collate stacks: different lengths cannot be stacked
    with pytest.raises(RuntimeError, match='stack expects each tensor'):
        default_collate(samples)


def test_non_jpeg_file_is_named(tmp_path):
    path = str(tmp_path / 'n02105855_2933.JPEG')  # a PNG named .JPEG
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path, format='PNG')
    with pytest.raises(CorruptImageError,
                       match=re.escape(path) + '.*is not a JPEG'):
        build()(dict(img_path=path))


def test_truncated_empty_and_missing_files_are_named(tmp_path):
    raw = open(write_jpegs(tmp_path)[0], 'rb').read()
    cut = tmp_path / 'cut.jpg'
    cut.write_bytes(raw[:len(raw) // 2])
    with pytest.raises(CorruptImageError, match=r'cut\.jpg.*truncated'):
        build()(dict(img_path=str(cut)))
    empty = tmp_path / 'empty.jpg'
    empty.write_bytes(b'')
    with pytest.raises(CorruptImageError, match=r'empty\.jpg is empty'):
        build()(dict(img_path=str(empty)))
    with pytest.raises(FileNotFoundError, match=r'nope\.jpg does not exist'):
        build()(dict(img_path=str(tmp_path / 'nope.jpg')))
    # markers but no frame header
    nosof = tmp_path / 'nosof.jpg'
    nosof.write_bytes(b'\xff\xd8\xff\xda\x00\x02\x00\xff\xd9')
    with pytest.raises(CorruptImageError, match=r'nosof\.jpg.*frame header'):
        build()(dict(img_path=str(nosof)))


def test_decoded_array_without_a_path_is_refused():
    with pytest.raises(KeyError, match=r"img_path.*\['img'\]"):
        build()(dict(img=np.zeros((4, 4, 3), np.uint8)))


def test_repr():
    assert repr(build()) == 'LoadJPEGBytes(backend_args=None)'
