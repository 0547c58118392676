# Copyright (c) ltplug contributors. All rights reserved.
"""DecodeBatchAugDataPreprocessor on the CPU, on small JPEGs written to
tmp_path, through LoadJPEGBytes + PackInputs + pseudo_collate: decoded
pixels, the per-sample RandomResizedCrop (boxes, their distribution
against MMPretrain's own draws, the resize against Pillow's), flip rate,
seeds, the eval geometry against the per-sample val pipeline, errors."""
import math
import re

import cv2
import mmcv
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS, TRANSFORMS
from PIL import Image
from scipy import stats

import ltplug  # noqa: F401  (registers the components)
from ltplug.datasets.transforms import CorruptImageError
from ltplug.models.data_preprocessors.decode_batch_aug_data_preprocessor \
    import draw_resized_crop_boxes, resize_antialias

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
SIZES = [(50, 37), (120, 90), (64, 101), (90, 120), (77, 77), (100, 61)]


def write_jpegs(folder, sizes=SIZES, seed=0):
    """Photo-like JPEGs (smooth colour fields plus noise), (w, h) each."""
    rng = np.random.default_rng(seed)
    paths = []
    for i, (w, h) in enumerate(sizes):
        small = rng.integers(0, 256, (h // 8 + 2, w // 8 + 2, 3))
        img = cv2.resize(small.astype(np.uint8), (w, h),
                         interpolation=cv2.INTER_CUBIC).astype(np.int16)
        img = np.clip(img + rng.integers(-10, 11, img.shape), 0, 255)
        path = str(folder / f'{i:03d}.jpg')
        cv2.imwrite(path, img.astype(np.uint8),
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    return paths


def load_batch(paths):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipe = Compose([dict(type='LoadJPEGBytes'), dict(type='PackInputs')])
    return pseudo_collate([pipe(dict(img_path=p, gt_label=i % 3))
                           for i, p in enumerate(paths)])


def build(views=None, **kwargs):
    return MODELS.build(dict(type='DecodeBatchAugDataPreprocessor',
                             mean=MEAN, std=STD, views=views, **kwargs))


def unnormalise(x):
    return x * torch.tensor(STD).view(1, 3, 1, 1) + torch.tensor(
        MEAN).view(1, 3, 1, 1)


@pytest.fixture
def paths(tmp_path):
    return write_jpegs(tmp_path)


def test_decoded_pixels_equal_decode_jpeg_and_cv2(paths):
    from torchvision.io import ImageReadMode, decode_jpeg, read_file
    imgs = build().decode(load_batch(paths)['inputs'])
    for (w, h), path, img in zip(SIZES, paths, imgs):
        assert img.shape == (3, h, w) and img.dtype == torch.uint8
        ref = decode_jpeg(read_file(path), mode=ImageReadMode.RGB)
        assert torch.equal(img, ref)
        # OpenCV's libjpeg-turbo: the same IDCT and upsampling here
        # (tolerance 2 levels for other builds; measured 0)
        bgr = cv2.imread(path)
        diff = np.abs(img.permute(1, 2, 0).numpy().astype(int) -
                      bgr[:, :, ::-1].astype(int))
        assert diff.max() <= 2


def test_cmyk_and_grayscale_jpegs_decode_to_rgb(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (40, 60, 3)).astype(np.uint8)
    cmyk, gray = str(tmp_path / 'cmyk.jpg'), str(tmp_path / 'gray.jpg')
    Image.fromarray(rgb).convert('CMYK').save(cmyk)
    Image.fromarray(rgb[:, :, 0]).save(gray)
    a, b = build().decode(load_batch([cmyk, gray])['inputs'])
    assert a.shape == b.shape == (3, 40, 60)
    ref = cv2.imread(cmyk)[:, :, ::-1].astype(int)
    assert np.abs(a.permute(1, 2, 0).numpy().astype(int) - ref).max() <= 2
    assert torch.equal(b[0], b[1]) and torch.equal(b[1], b[2])


def test_train_output_shape_dtype_labels_and_value_range(paths):
    pre = build([[dict(type='BatchRandomFlip', prob=0.5),
                  dict(type='BatchColorJitter', brightness=0.4,
                       contrast=0.4, saturation=0.4)]], num_classes=3)
    torch.manual_seed(0)
    out = pre(load_batch(paths), True)
    x = out['inputs']
    assert x.shape == (len(paths), 3, 224, 224) and x.dtype == torch.float32
    raw = unnormalise(x)
    assert raw.min() > -1e-3 and raw.max() < 255 + 1e-3
    assert torch.allclose(raw, raw.round(), atol=1e-3)  # uint8 values
    assert [s.gt_label.item() for s in out['data_samples']] == [
        0, 1, 2, 0, 1, 2]
    ev = pre(load_batch(paths), False)['inputs']
    assert ev.shape == (len(paths), 3, 224, 224)


def test_crop_size_and_two_views(paths):
    pre = build([[], [dict(type='BatchRandomFlip', prob=1.)]],
                crop_size=(32, 48))
    torch.manual_seed(0)
    out = pre(load_batch(paths), True)['inputs']
    assert isinstance(out, list) and len(out) == 2
    assert out[0].shape == out[1].shape == (len(paths), 3, 32, 48)
    assert not torch.allclose(out[0], out[1].flip(3))  # own boxes per view


@pytest.mark.parametrize('uint8_kernel,max_frac', [(True, 0.05),
                                                    (False, 0.3)])
def test_resize_of_a_box_is_within_one_level_of_pillow(
        paths, uint8_kernel, max_frac):
    """The per-sample path: mmcv.imcrop + imresize(backend='pillow',
    bilinear), as RandomResizedCrop(backend='pillow') does for a box.
    The uint8 kernel runs on the CPU, the float32 one on CUDA (tested
    here on the CPU)."""
    pre = build(crop_size=224)
    imgs = pre.decode(load_batch(paths)['inputs'])
    rng = np.random.default_rng(0)
    worst, frac = 0, []
    for img in imgs:
        h, w = img.shape[1:]
        for th, tw in ((h, w), (h // 2, w // 3), (max(1, h // 5), w // 4)):
            t, l = rng.integers(0, h - th + 1), rng.integers(0, w - tw + 1)
            crop = img[:, t:t + th, l:l + tw]
            ours = resize_antialias(crop, (224, 224), uint8_kernel)
            assert torch.equal(ours, ours.round())
            if uint8_kernel:  # the CPU default of the preprocessor
                box = torch.tensor([[t, l, th, tw]])
                assert torch.equal(pre.random_resized_crop([img], box)[0],
                                   ours)
            hwc = img.permute(1, 2, 0).numpy()
            ref = mmcv.imresize(
                mmcv.imcrop(hwc, np.array([l, t, l + tw - 1, t + th - 1])),
                (224, 224), interpolation='bilinear', backend='pillow')
            diff = np.abs(ours.permute(1, 2, 0).numpy() - ref)
            worst = max(worst, diff.max())
            frac.append((diff > 0).mean())
    assert worst <= 1  # Pillow: 22-bit fixed point, uint8 between passes
    assert np.mean(frac) < max_frac  # measured ~0.007 (uint8), ~0.15


def test_eval_geometry_matches_the_per_sample_val_pipeline(paths):
    pre = build()
    ours = unnormalise(pre(load_batch(paths), False)['inputs'])
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        val = Compose([
            dict(type='LoadImageFromFileChecked'),
            dict(type='ResizeEdge', scale=256, edge='short',
                 backend='pillow', interpolation='bilinear'),
            dict(type='CenterCrop', crop_size=224),
        ])
    for path, img in zip(paths, ours):
        ref = val(dict(img_path=path))['img'][:, :, ::-1]  # BGR -> RGB
        assert ref.shape == (224, 224, 3)
        diff = np.abs(img.permute(1, 2, 0).numpy() - ref.astype(np.float32))
        assert diff.max() <= 1 + 1e-3


def test_boxes_differ_per_sample_and_a_seed_repeats_the_batch(tmp_path):
    paths = write_jpegs(tmp_path, [(120, 90)]) * 8
    pre = build([[dict(type='BatchRandomFlip', prob=0.5)]], crop_size=64)
    batch = load_batch(paths)
    imgs = pre.decode(batch['inputs'])
    assert all(torch.equal(imgs[0], i) for i in imgs[1:])  # same image
    torch.manual_seed(3)
    a = pre(batch, True)['inputs']
    torch.manual_seed(3)
    b = pre(batch, True)['inputs']
    assert torch.equal(a, b)
    assert len({x.numpy().tobytes() for x in a}) == 8
    torch.manual_seed(3)
    boxes = draw_resized_crop_boxes(torch.full((8, ), 90),
                                    torch.full((8, ), 120))
    assert len({tuple(r) for r in boxes.tolist()}) == 8



def test_amp_context_does_not_change_the_batch(tmp_path):
    """Under autocast (the CPU's, a proxy for the AMP context MMEngine
    calls the preprocessor in) decode, crop, resize and jitter give the
    same float32 batch as without it."""
    batch = load_batch(write_jpegs(tmp_path))
    pre = build([[dict(type='BatchRandomFlip', prob=0.5),
                  dict(type='BatchColorJitter', brightness=0.4,
                       contrast=0.4, saturation=0.4)]], crop_size=64)
    torch.manual_seed(1)
    ref = pre(batch, True)['inputs']
    torch.manual_seed(1)
    with torch.autocast('cpu', dtype=torch.float16):
        out = pre(batch, True)['inputs']
    assert out.dtype == torch.float32 and torch.equal(ref, out)

def test_box_distribution_matches_mmpretrain_random_resized_crop():
    n, h, w = 4000, 375, 500
    torch.manual_seed(0)
    boxes = draw_resized_crop_boxes(torch.full((n, ), h), torch.full(
        (n, ), w)).numpy()
    top, left, bh, bw = boxes.T
    assert (top >= 0).all() and (left >= 0).all()
    assert (top + bh <= h).all() and (left + bw <= w).all()
    area, ratio = bh * bw / (h * w), bw / bh
    # the configured ranges, up to the rounding of the sides
    assert area.min() >= 0.08 * 0.98 and area.max() <= 1.0
    assert ratio.min() >= 0.75 * 0.98 and ratio.max() <= 4 / 3 * 1.02
    ref = TRANSFORMS.build(dict(type='RandomResizedCrop', scale=224,
                                backend='pillow'))
    np.random.seed(0)
    img = np.zeros((h, w, 3), np.uint8)
    rb = np.array([ref.rand_crop_params(img) for _ in range(n)])
    r_area, r_ratio = rb[:, 2] * rb[:, 3] / (h * w), rb[:, 3] / rb[:, 2]
    for ours, theirs in ((area, r_area), (np.log(ratio), np.log(r_ratio)),
                         ((top + bh / 2) / h, (rb[:, 0] + rb[:, 2] / 2) / h),
                         ((left + bw / 2) / w,
                          (rb[:, 1] + rb[:, 3] / 2) / w)):
        assert stats.ks_2samp(ours, theirs).pvalue > 1e-4
    # (the accepted log-aspects are not uniform: large boxes of extreme
    # aspect do not fit and are redrawn, in both implementations)


def test_fallback_box_is_mmpretrain_s():
    # a 10 x 200 strip: no draw fits, the centred box clipped to 4/3
    torch.manual_seed(0)
    box = draw_resized_crop_boxes(torch.tensor([10, 200]),
                                  torch.tensor([200, 10]))
    ref = TRANSFORMS.build(dict(type='RandomResizedCrop', scale=224))
    for (h, w), ours in zip(((10, 200), (200, 10)), box.tolist()):
        assert tuple(ours) == ref.rand_crop_params(np.zeros((h, w, 3)))


def test_flip_rate(tmp_path):
    """crop_ratio_range (1, 1): the box is the whole image (no draw fits
    a 77 x 77 image exactly, the fallback is the whole square), so a
    sample is either the resized image or its mirror."""
    n = 400
    paths = write_jpegs(tmp_path, [(77, 77)])
    batch = load_batch(paths * n)
    pre = build([[dict(type='BatchRandomFlip', prob=0.5)]], crop_size=16,
                crop_ratio_range=(1., 1.))
    plain = unnormalise(build(crop_size=16, crop_ratio_range=(1., 1.))(
        load_batch(paths), True)['inputs'])[0]
    assert not torch.allclose(plain, plain.flip(2))
    torch.manual_seed(0)
    out = unnormalise(pre(batch, True)['inputs'])
    flipped = torch.isclose(out, plain.flip(2), atol=1e-3).flatten(1).all(1)
    same = torch.isclose(out, plain, atol=1e-3).flatten(1).all(1)
    assert bool((flipped ^ same).all())
    assert abs(flipped.sum().item() - n / 2) <= 5 * math.sqrt(n / 4)


def test_an_undecodable_file_is_named(paths):
    batch = load_batch(paths)
    # (corrupt entropy-coded data decodes with a libjpeg warning, as
    # with OpenCV in the per-sample path; a broken header does not)
    garbage = torch.tensor(list(b'\xff\xd8\xff\xe0' + b'junk' * 50),
                           dtype=torch.uint8)
    batch['inputs'][1] = garbage
    with pytest.raises(CorruptImageError,
                       match=re.escape(paths[1]) + '.*decode_jpeg'):
        build()(batch, True)


def test_a_non_jpeg_file_is_named_by_the_loader(tmp_path):
    path = str(tmp_path / 'x.JPEG')
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path, format='PNG')
    with pytest.raises(CorruptImageError,
                       match=re.escape(path) + '.*is not a JPEG'):
        load_batch([path])


def test_bad_arguments_and_inputs(paths):
    with pytest.raises(ValueError, match='to_rgb must be False'):
        build(to_rgb=True)
    with pytest.raises(ValueError, match=r'crop_ratio_range.*\(1, 0\.5\)'):
        build(crop_ratio_range=(1, 0.5))
    with pytest.raises(ValueError, match='test_resize_edge.*-3'):
        build(test_resize_edge=-3)
    with pytest.raises(ValueError, match='max_attempts.*0'):
        build(max_attempts=0)
    with pytest.raises(TypeError, match=r'encoded JPEG bytes.*\(2, 3, 8, 8\)'):
        build()(dict(inputs=torch.zeros(2, 3, 8, 8, dtype=torch.uint8)),
                False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_decode_and_augmentation(paths):
    """nvjpeg decode + the float32 resize on CUDA against the CPU path.
    Not run in this project yet (no GPU): the tolerances are loose guesses
    (nvjpeg's IDCT / chroma upsampling differ from libjpeg-turbo's)."""
    batch = load_batch(paths)
    cpu = build()
    gpu = build().to('cuda')
    for a, b in zip(cpu.decode(batch['inputs']), gpu.decode(batch['inputs'])):
        assert b.device.type == 'cuda' and b.shape == a.shape
        assert (b.cpu().float() - a.float()).abs().mean() < 3
    ev_cpu = unnormalise(cpu(batch, False)['inputs'])
    ev_gpu = unnormalise(gpu(batch, False)['inputs'].cpu())
    assert (ev_cpu - ev_gpu).abs().mean() < 3
    pre = build([[dict(type='BatchRandomFlip', prob=0.5),
                  dict(type='BatchColorJitter', brightness=0.4,
                       contrast=0.4, saturation=0.4)]]).to('cuda')
    torch.manual_seed(0)
    out = pre(batch, True)['inputs']
    assert out.device.type == 'cuda' and out.shape == (len(paths), 3, 224,
                                                       224)
