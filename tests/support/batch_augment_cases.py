# Copyright (c) ltplug contributors. All rights reserved.
"""Helpers of the batched-augmentation tests: varied uint8 images, the
per-sample reference ops (MMPretrain / ltplug transforms, built through
the registry) and a binomial check."""
from unittest import mock

import numpy as np
import torch
from mmengine.registry import DefaultScope
from mmpretrain.registry import TRANSFORMS


def make_images(n: int = 48, size: int = 32, seed: int = 0) -> np.ndarray:
    """``(n, size, size, 3)`` uint8 RGB: noise, smooth gradients, blobs,
    flat and low-contrast images (histogram edge cases)."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    out = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            img = rng.randint(0, 256, (size, size, 3))
        elif kind == 1:
            a, b, c = rng.uniform(-1, 1, 3)
            base = 128 + 120 * np.tanh(a * yy + b * xx + c)
            img = base[..., None] + rng.uniform(-40, 40, 3)
        elif kind == 2:
            cy, cx, r = rng.uniform(0, 1, 3)
            blob = np.exp(-((yy - cy)**2 + (xx - cx)**2) / (0.05 + r * 0.2))
            img = rng.uniform(0, 255, 3) * blob[..., None] + rng.uniform(
                0, 60, 3)
        else:
            lo = rng.randint(0, 200)
            img = lo + rng.randint(0, 1 + (i % 3) * 20, (size, size, 3))
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return np.stack(out)


def to_nhwc(x: torch.Tensor) -> np.ndarray:
    """float NCHW batch -> int64 NHWC array."""
    return x.permute(0, 2, 3, 1).numpy().astype(np.int64)


def per_sample(cfg: dict, img: np.ndarray) -> np.ndarray:
    """Run the per-sample transform ``cfg`` (``mmpretrain`` scope) on one
    HWC image."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        transform = TRANSFORMS.build(cfg)
    return transform(dict(img=img.copy()))['img']


def per_sample_jitter(cfg: dict, img: np.ndarray, params: dict, i: int,
                      hue: bool) -> np.ndarray:
    """The per-sample ``ColorJitter`` pipeline ``cfg`` on ``img`` with
    sample ``i``'s draws of ``BatchColorJitter`` ``params`` (its op order,
    its three factors and, with ``hue``, its hue shift as a factor; a
    1e-9 nudge keeps ``int(h * 255)`` on the drawn level)."""
    from mmpretrain.datasets.transforms import ColorJitter
    f = params['factor'][i].tolist()
    hue_f = f[3] / 255 if f[3] < 128 else (f[3] - 256) / 255
    draw = (np.array(params['order'][i]), f[0], f[1], f[2],
            hue_f + 1e-9 * np.sign(hue_f) if hue else None)
    with mock.patch.object(ColorJitter, '_rand_params',
                           lambda self, d=draw: d):
        return per_sample(cfg, img)


def in_bgr(cfg: dict) -> dict:
    """``cfg`` wrapped in ``ApplyInBGR`` (as the shipped CIFAR configs
    run MMCV's colour ops on the RGB arrays)."""
    return dict(type='ApplyInBGR', channel_order='rgb', transforms=[cfg])


def within_binomial(count: int, n: int, p: float, sigmas: float = 5.):
    """``count`` successes of ``n`` are within ``sigmas`` std of ``n p``."""
    sd = max((n * p * (1 - p))**0.5, 1e-9)
    return abs(count - n * p) <= sigmas * sd + 1e-9
