# Copyright (c) ltplug contributors. All rights reserved.
import numpy as np
import pytest
import torch
from PIL import Image

from ltplug.models.utils.batch_augments.photometric import (
    cv2_gray, pil_gaussian_blur, pil_gray, pil_hue, pillow_convert_table)


def _colour_grid() -> np.ndarray:
    """Every RGB colour on a 0, 17, ..., 255 grid (16 ** 3 = 4096 pixels,
    greys and saturated ones included) as one 64 x 64 image."""
    levels = np.arange(0, 256, 17, dtype=np.uint8)
    rgb = np.stack(np.meshgrid(levels, levels, levels, indexing='ij'), -1)
    return rgb.reshape(64, 64, 3)


@pytest.mark.parametrize('shift', [0, 1, 85, 128, 200, 255])
def test_pil_hue_equals_pillows_hsv_round_trip(shift):
    """On every colour of a grid, pil_hue is Pillow's convert('HSV'),
    H + shift (mod 256), convert('RGB'), exactly; greys (S = 0) come back
    unchanged."""
    img = _colour_grid()
    hsv = np.asarray(Image.fromarray(img).convert('HSV')).copy()
    hsv[..., 0] = (hsv[..., 0].astype(int) + shift) % 256
    ref = np.asarray(Image.fromarray(hsv, 'HSV').convert('RGB'))
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    out = pil_hue(x, torch.tensor([shift])).permute(0, 2, 3, 1)[0].numpy()
    np.testing.assert_array_equal(out, ref)
    grey = (img[..., 0] == img[..., 1]) & (img[..., 1] == img[..., 2])
    np.testing.assert_array_equal(out[grey], img[grey])


def test_pil_hue_takes_each_samples_shift():
    """A batch of noise images of an odd size, one shift per sample: each
    sample is Pillow's round trip with its own shift (the grid above holds
    few colours; noise reaches the rounding edges of the HSV formulas)."""
    rng = np.random.RandomState(0)
    imgs = rng.randint(0, 256, (4, 7, 9, 3)).astype(np.uint8)
    shifts = [3, 0, 250, 128]
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float()
    out = pil_hue(x, torch.tensor(shifts)).permute(0, 2, 3, 1).numpy()
    for img, shift, got in zip(imgs, shifts, out):
        hsv = np.asarray(Image.fromarray(img).convert('HSV')).copy()
        hsv[..., 0] = (hsv[..., 0].astype(int) + shift) % 256
        np.testing.assert_array_equal(
            got, np.asarray(Image.fromarray(hsv, 'HSV').convert('RGB')))


def test_pillow_convert_table_packs_pillows_conversion():
    """Entry ``r << 16 | g << 8 | b`` of the RGB -> HSV table is Pillow's
    HSV of that pixel, packed the same way, for random pixels; the table
    is made once and reused."""
    rng = np.random.RandomState(1)
    pix = rng.randint(0, 256, (1, 500, 3)).astype(np.uint8)
    hsv = np.asarray(Image.fromarray(pix).convert('HSV'))[0].astype(np.int64)
    table = pillow_convert_table('RGB', 'HSV')
    assert table.shape == (1 << 24, ) and table.dtype == torch.int32
    p = pix[0].astype(np.int64)
    got = table[torch.from_numpy(p[:, 0] << 16 | p[:, 1] << 8 | p[:, 2])]
    np.testing.assert_array_equal(
        got.numpy(), hsv[:, 0] << 16 | hsv[:, 1] << 8 | hsv[:, 2])
    assert pillow_convert_table('RGB', 'HSV') is table


def test_grey_levels_equal_pillow_and_opencv():
    """pil_gray is Pillow's convert('L'); cv2_gray OpenCV's BGR2GRAY (of
    the reversed channels), exactly, on every grid colour."""
    import cv2
    img = _colour_grid()
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    np.testing.assert_array_equal(
        pil_gray(x)[0, 0].numpy(), np.asarray(Image.fromarray(img).convert(
            'L')))
    np.testing.assert_array_equal(
        cv2_gray(x)[0, 0].numpy(),
        cv2.cvtColor(np.ascontiguousarray(img[..., ::-1]),
                     cv2.COLOR_BGR2GRAY))


@pytest.mark.parametrize('sigma', [0.1, 0.5, 0.99, 1.0, 1.37, 2.0, 3.5])
def test_gaussian_blur_equals_pillow_per_sigma(sigma):
    """One batch, one radius per sample (edges of the box radius
    included): each blurred sample equals Pillow's GaussianBlur."""
    from PIL import ImageFilter
    rng = np.random.RandomState(0)
    imgs = rng.randint(0, 256, (3, 20, 28, 3)).astype(np.uint8)
    sig = torch.tensor([sigma, 0.3, 2.0], dtype=torch.float64)
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float()
    out = pil_gaussian_blur(x, sig).permute(0, 2, 3, 1).numpy()
    for i in range(3):
        ref = np.asarray(Image.fromarray(imgs[i]).filter(
            ImageFilter.GaussianBlur(radius=float(sig[i]))))
        np.testing.assert_array_equal(out[i], ref, err_msg=f'sample {i}')
