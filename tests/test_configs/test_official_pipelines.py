# Copyright (c) ltplug contributors. All rights reserved.
"""The pipelines of every config follow the official code's image ops
(issue 13, smaller differences), checked on the configs and by running the
built transforms on synthetic images:

* resizing: Pillow's bilinear (anti-aliased) where the official code is
  PyTorch (torchvision on PIL images), OpenCV's bilinear for CBD (TF's
  ``tf.image.resize``, no anti-aliasing) with TF's distorted-box crop;
* channel order: MMCV's colour ops on the RGB CIFAR arrays run inside
  ``ApplyInBGR(channel_order='rgb')``; grayscale weights follow the stored
  order (BGR for image files);
* NCL: AutoAugment rotate without a random sign in PIL's direction, the
  reference Cutout, RandAugment with the ImageNet-mean fill for ImageNet-LT
  and iNat, floor-rounded Posterize and a random bilinear / bicubic filter
  per geometric op.
"""
import glob
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import TRANSFORMS
from PIL import Image

import ltplug  # noqa: F401
from tests.helpers import ROOT

CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                       recursive=True) if '_base_' not in p.split(osp.sep))
# MMCV / MMPretrain ops that compute a grey image assuming BGR
BGR_COLOUR_OPS = {'ColorJitter', 'AutoAugment', 'RandAugment', 'Contrast',
                  'ColorTransform'}
IMAGENET_MEAN_BGR = [104, 116, 124]


def setup_module():
    init_default_scope('mmpretrain')


def load(path):
    return Config.fromfile(osp.join(ROOT, path))


def pipelines(cfg):
    """(split, pipeline) of the train / val / test loaders."""
    out = []
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if loader is None:
            continue
        dataset = loader.dataset
        while 'pipeline' not in dataset:  # wrappers (LongTailSubset)
            dataset = dataset.dataset
        out.append((split, dataset.pipeline))
    return out


def walk(pipeline, in_rgb_wrapper=False):
    """Yield (transform dict, inside ApplyInBGR('rgb')) for every nested
    transform."""
    for t in pipeline:
        if isinstance(t, (list, tuple)):
            yield from walk(t, in_rgb_wrapper)
            continue
        yield t, in_rgb_wrapper
        inner = in_rgb_wrapper or (t['type'] == 'ApplyInBGR'
                                   and t.get('channel_order', 'rgb') == 'rgb')
        for key in ('transforms', 'policies'):
            if key in t:
                yield from walk(t[key], inner)


def from_files(pipeline) -> bool:
    return any(t['type'].startswith('LoadImageFromFile') for t in pipeline)


@pytest.mark.parametrize('path', CONFIGS)
def test_resize_backend_and_crop(path):
    cfg = load(path)
    cbd = osp.basename(osp.dirname(path)) == 'cbd'
    for split, pipeline in pipelines(cfg):
        for t, _ in walk(pipeline):
            if t['type'] == 'ResizeEdge':
                want = 'cv2' if cbd else 'pillow'
                assert t.get('backend') == want, (path, split, t)
                assert t.get('interpolation', 'bilinear') == 'bilinear'
            if t['type'] == 'RandomResizedCrop':
                assert not cbd, (path, 'CBD uses TF\'s distorted-box crop')
                assert t.get('backend') == 'pillow', (path, split, t)
            if t['type'] == 'DistortedBoundingBoxCrop':
                assert cbd and t.get('backend', 'cv2') == 'cv2'
        if cbd and split == 'train' and from_files(pipeline):
            types = [t['type'] for t, _ in walk(pipeline)]
            assert 'DistortedBoundingBoxCrop' in types, path


@pytest.mark.parametrize('path', CONFIGS)
def test_channel_order(path):
    cfg = load(path)
    for split, pipeline in pipelines(cfg):
        files = from_files(pipeline)
        for t, in_rgb in walk(pipeline):
            if t['type'] in BGR_COLOUR_OPS:
                # RGB arrays (CIFAR) must be wrapped; BGR files must not
                assert in_rgb == (not files), (path, split, t['type'])
            if t['type'] == 'RandomGrayscale':
                w = t['channel_weights']
                red = 0 if (not files and not in_rgb) else 2
                assert w[red] == pytest.approx(0.2989), (path, split, w)
                assert w[1] == pytest.approx(0.587)


def test_places_grayscale_weighs_red_of_bgr_files():
    """NCL Places-LT: a pure red image loaded as BGR greys to 0.299 x
    255 (the weights were applied in RGB order: 0.114 x 255)."""
    cfg = load('configs/ncl/ncl-moco_resnet152_8xb32-30e_places-lt.py')
    view = cfg.train_dataloader.dataset.pipeline[1].transforms[0]
    gray = [dict(t, prob=1.) for t in view if t.type == 'RandomGrayscale']
    assert len(gray) == 1
    red_bgr = np.zeros((4, 4, 3), np.uint8)
    red_bgr[..., 2] = 255
    out = TRANSFORMS.build(gray[0])(dict(img=red_bgr))['img']
    assert abs(int(out[0, 0, 0]) - 76) <= 1


def test_cifar_jitter_weighs_rgb():
    """NCL-MoCo CIFAR key view: full desaturation of pure red (RGB array)
    gives 0.299 x 255 through the config's wrapper."""
    cfg = load('configs/ncl/ncl-moco_resnet32_1xb64-400e_cifar100-lt-r100.py')
    view = cfg.train_dataloader.dataset.pipeline[0].transforms[1]
    wrapper = [t for t in view if t.type == 'ApplyInBGR'][0]
    jitter = wrapper.transforms[0].transforms[0]
    op = dict(wrapper, transforms=[dict(jitter, brightness=0., contrast=0.,
                                        saturation=(0., 0.), hue=0.)])
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    out = TRANSFORMS.build(op)(dict(img=red))['img']
    assert abs(int(out[0, 0, 0]) - 76) <= 1


def test_ncl_cifar_rotate_as_pil():
    """The port rotates with PIL's rotate(+angle) (counter-clockwise), never
    the other way: the config's Rotate matches PIL's direction."""
    cfg = load('configs/ncl/ncl_resnet32_1xb64-400e_cifar10-lt-r100.py')
    rotates = [t for t, _ in walk(cfg.train_dataloader.dataset.pipeline)
               if t['type'] == 'Rotate']
    assert len(rotates) == 1
    rot = dict(rotates[0], prob=1., pad_val=128, angle=rotates[0]['angle'] *
               9 / 2 * 3)  # the same sign, a larger angle (90 degrees)
    img = np.zeros((32, 32, 3), np.uint8)
    img[2:8, 12:20] = 255  # a bar at the top
    ours = TRANSFORMS.build(rot)
    out = [ours(dict(img=img.copy()))['img'] for _ in range(5)]
    pil_ccw = np.asarray(Image.fromarray(img).rotate(90))
    for o in out:  # always the same direction (no random sign)
        assert np.abs(o.astype(int) - pil_ccw).mean() < 10
    # the bar went to the left side, as PIL's counter-clockwise rotate
    assert out[0][12:20, 2:8].mean() > 200


def test_ncl_cifar_cutout_is_the_reference_one():
    cfg = load('configs/ncl/ncl_resnet32_1xb64-400e_cifar10-lt-r100.py')
    types = [t['type'] for t, _ in walk(cfg.train_dataloader.dataset.pipeline)]
    assert 'ClippedCutout' in types and 'Cutout' not in types


@pytest.mark.parametrize('path', [
    'configs/ncl/ncl_resnet50_4xb64-200e_imagenet-lt.py',
    'configs/ncl/ncl_resnet50_8xb64-400e_inat2018.py',
    'configs/ncl/ncl_resnext50-32x4d_4xb64-200e_imagenet-lt.py',
])
def test_ncl_randaugment(path):
    cfg = load(path)
    ra = [t for t, _ in walk(cfg.train_dataloader.dataset.pipeline)
          if t['type'] == 'RandAugment']
    assert len(ra) == 1
    ra = ra[0]
    # the code's fill: the ImageNet mean for ImageNet-LT and iNat (BGR)
    assert list(ra.hparams.pad_val) == IMAGENET_MEAN_BGR
    assert 'interpolation' not in ra.hparams
    geometric = 0
    for policy in ra.policies:
        if policy['type'] == 'RandomChoice':
            ops = [c[0] for c in policy['transforms']]
            assert sorted(o['interpolation'] for o in ops) == [
                'bicubic', 'bilinear'
            ]
            assert len({(o['type'], o.get('direction')) for o in ops}) == 1
            for o in ops:
                assert list(o['pad_val']) == IMAGENET_MEAN_BGR
                assert (o['magnitude_level'], o['magnitude_std'],
                        o['total_level']) == (ra.magnitude_level,
                                              ra.magnitude_std,
                                              ra.total_level)
            geometric += 1
        assert policy['type'] not in ('Rotate', 'Shear', 'Translate')
        assert policy['type'] != 'Posterize'
        if policy['type'] == 'TimmPosterize':
            assert policy.get('rounding', 'floor') == 'floor'
    assert geometric == 5
    # both filters are drawn when the pipeline runs
    t = TRANSFORMS.build(ra)
    img = np.random.default_rng(0).integers(0, 256, (40, 40, 3), np.uint8)
    for _ in range(10):
        assert t(dict(img=img.copy()))['img'].shape == (40, 40, 3)


@pytest.mark.parametrize('path', CONFIGS)
def test_image_files_load_with_the_checked_loader(path):
    # issue 18.6: a corrupt JPEG in a real-data run must stop with the list
    # line, not MMCV's bare ``assert`` (an AttributeError under python -O)
    for split, pipeline in pipelines(load(path)):
        for t, _ in walk(pipeline):
            assert t['type'] != 'LoadImageFromFile', (
                path, split, 'uses the stock loader')
