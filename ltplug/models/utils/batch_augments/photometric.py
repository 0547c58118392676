# Copyright (c) ltplug contributors. All rights reserved.
"""Batched colour helpers for the ``Batch*`` augmentations.

Every function takes a float RGB batch ``(N, 3, H, W)`` holding uint8
values (0..255, integral) and per-sample factors as tensors of length
``N``, and returns a uint8-valued batch. ``mmcv_*`` functions follow MMCV's
cv2-backend arithmetic (what MMPretrain's AutoAugment ops call: float
blend, truncation to uint8), ``pil_*`` functions follow Pillow's (what
MMPretrain's ``ColorJitter`` with its default ``'pillow'`` backend calls).
"""
from typing import Dict, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F


def _col(x: torch.Tensor) -> torch.Tensor:
    """``(N,)`` -> ``(N, 1, 1, 1)`` in float32."""
    return x.float().view(-1, 1, 1, 1)


def _mean(gray: torch.Tensor) -> torch.Tensor:
    """Per-sample float64 mean of an integer-valued ``(N, 1, H, W)`` grey
    batch: the sum in float32 (exact while below 2 ** 24, i.e. up to
    65,793 pixels; float64 beyond), the quotient in float64."""
    n = gray[0].numel()
    total = gray.sum((1, 2, 3)) if n * 255 < (1 << 24) else gray.double(
    ).sum((1, 2, 3))
    return total.double() / n


def cv2_gray(imgs: torch.Tensor) -> torch.Tensor:
    """``cv2.cvtColor(BGR2GRAY)`` of RGB values: OpenCV 5's 15-bit
    fixed-point luminance (9798, 19235, 3735; OpenCV 4's 14-bit weights
    differ by 1 on about 0.3% of colours), ``(N, 1, H, W)``."""
    # at most 255 * 32768 + 16384 < 2 ** 24: exact in float32
    r, g, b = imgs.float().unbind(1)
    return torch.floor((r * 9798 + g * 19235 + b * 3735 + 16384) *
                       (1. / 32768)).unsqueeze(1).to(imgs.dtype)


def pil_gray(imgs: torch.Tensor) -> torch.Tensor:
    """Pillow's ``convert('L')``: 16-bit fixed-point luminance,
    ``(N, 1, H, W)``."""
    # at most 255 * 65536 + 32768 < 2 ** 24: exact in float32
    r, g, b = imgs.float().unbind(1)
    return torch.floor((r * 19595 + g * 38470 + b * 7471 + 32768) *
                       (1. / 65536)).unsqueeze(1).to(imgs.dtype)


def cv2_add_weighted(src1: torch.Tensor, src2: torch.Tensor,
                     alpha: torch.Tensor) -> torch.Tensor:
    """``cv2.addWeighted(src1, alpha, src2, 1 - alpha, 0)`` as OpenCV
    computes it: float32 weights, ``fma(src1, alpha, src2 * beta)``,
    float32 result (not rounded)."""
    a = _col(alpha)
    b = _col(1 - alpha.double())
    return (src1.double() * a.double() +
            (src2.float() * b).double()).float()


def mmcv_blend(imgs: torch.Tensor, degenerate: torch.Tensor,
               factor: torch.Tensor) -> torch.Tensor:
    """``cv2.addWeighted(img, f, degenerate, 1 - f, 0)`` on float32
    arrays, clipped and truncated to uint8 (MMCV's brightness / contrast /
    sharpness)."""
    # truncation of values clipped to 0..255 is their floor (faster)
    return torch.floor(cv2_add_weighted(imgs, degenerate, factor).clamp_(
        0, 255)).to(imgs.dtype)


def mmcv_brightness(imgs: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``mmcv.adjust_brightness`` (blend with black)."""
    return mmcv_blend(imgs, torch.zeros_like(imgs), factor)


def mmcv_contrast(imgs: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``mmcv.adjust_contrast``: blend with the rounded mean grey."""
    mean = torch.round(_mean(cv2_gray(imgs)))
    return mmcv_blend(imgs, _col(mean).expand_as(imgs), factor)


def mmcv_color(imgs: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``mmcv.adjust_color``: uint8 ``cv2.addWeighted`` with the grey
    image (rounded, saturated)."""
    return torch.round(cv2_add_weighted(imgs, cv2_gray(imgs),
                                        factor)).clamp(0, 255).to(imgs.dtype)


def mmcv_sharpness(imgs: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``mmcv.adjust_sharpness``: blend with the image smoothed by
    ``[[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13`` (``cv2.filter2D`` on
    uint8: reflect-101 border, rounded).

    The smoothing is the exact integer sum of the 3 x 3 neighbourhood plus
    4 times the centre, divided by 13 and rounded: an integer divided by
    13 is never within 1 / 26 of a half, so OpenCV's float32
    accumulation rounds it the same way (and shifted sums are far cheaper
    on the CPU than a depthwise convolution of a few small images).
    """
    h, w = imgs.shape[2:]
    p = F.pad(imgs, (1, 1, 1, 1), mode='reflect')
    rows = p[:, :, :, :w] + p[:, :, :, 1:w + 1] + p[:, :, :, 2:]
    total = rows[:, :, :h] + rows[:, :, 1:h + 1] + rows[:, :, 2:] + 4. * imgs
    smooth = torch.round(total * (1. / 13))
    return mmcv_blend(imgs, smooth, factor)


def invert(imgs: torch.Tensor) -> torch.Tensor:
    """``255 - img``."""
    return 255. - imgs


def solarize(imgs: torch.Tensor, thr: torch.Tensor) -> torch.Tensor:
    """``mmcv.solarize``: invert the pixels ``>= thr``."""
    return torch.where(imgs < _col(thr), imgs, 255. - imgs)


def posterize(imgs: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """``mmcv.posterize``: keep the ``bits`` high bits."""
    step = _col(torch.pow(2., 8 - bits.float()))
    return torch.floor(imgs / step) * step


def auto_contrast(imgs: torch.Tensor) -> torch.Tensor:
    """``mmcv.auto_contrast`` (cutoff 0): stretch each channel from its
    min..max to 0..255 (float64 LUT arithmetic, truncated); a flat channel
    is kept."""
    x = imgs.double()
    low = x.amin((2, 3), keepdim=True)
    high = x.amax((2, 3), keepdim=True)
    flat = low >= high
    # tensor / tensor (IEEE division; ``255. / t`` multiplies by 1 / t)
    scale = torch.full_like(high, 255.) / torch.where(
        flat, torch.ones_like(high), high - low)
    out = torch.floor((x * scale + (-low * scale)).clamp_(0, 255))
    return torch.where(flat, x, out).to(imgs.dtype)


def equalize(imgs: torch.Tensor) -> torch.Tensor:
    """``mmcv.imequalize``: Pillow-style histogram equalisation of each
    channel."""
    n, c, h, w = imgs.shape
    flat = imgs.reshape(n * c, h * w).long()
    offsets = torch.arange(n * c, device=imgs.device)[:, None] * 256
    hist = torch.bincount((flat + offsets).reshape(-1),
                          minlength=n * c * 256).reshape(n * c, 256)
    top = flat.amax(1, keepdim=True)  # the last non-empty bin
    step = (h * w - hist.gather(1, top)) // 255  # (n*c, 1)
    safe = step.clamp(min=1)
    lut = (hist.cumsum(1) + safe // 2) // safe
    lut = torch.cat([torch.zeros_like(lut[:, :1]), lut[:, :-1]], 1)
    lut = lut.clamp(max=255)
    out = torch.where(step > 0, lut.gather(1, flat), flat)
    return out.reshape(n, c, h, w).to(imgs.dtype)


def pil_blend(imgs: torch.Tensor, degenerate: torch.Tensor,
              factor: torch.Tensor) -> torch.Tensor:
    """``Image.blend(degenerate, img, f)``: ``d + f * (img - d)``, clipped
    and truncated (Pillow's ImageEnhance)."""
    f = _col(factor)
    return torch.floor((degenerate + f * (imgs - degenerate)).clamp_(0, 255))


def pil_brightness(imgs: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Brightness``."""
    return pil_blend(imgs, torch.zeros_like(imgs), factor)


def pil_contrast(imgs: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Contrast``: blend with ``int(mean(L) + 0.5)``."""
    mean = torch.floor(_mean(pil_gray(imgs)) + 0.5)
    return pil_blend(imgs, _col(mean).expand_as(imgs), factor)


def pil_saturation(imgs: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Color``: blend with the ``L`` image."""
    return pil_blend(imgs, pil_gray(imgs).expand_as(imgs), factor)


#: Pillow's conversions of every 24-bit pixel, built on first use (CPU)
#: and copied once to each device: ``{(src, dst, device): table}``
_CONVERT_TABLES: Dict[Tuple[str, str, str], torch.Tensor] = {}


def pillow_convert_table(src: str, dst: str,
                         device: Union[str, torch.device] = 'cpu'
                         ) -> torch.Tensor:
    """Pillow's ``convert(dst)`` of each of the 2 ** 24 three-channel
    ``src`` pixels: an int32 table of length 2 ** 24 (64 MiB) whose entry
    ``c0 << 16 | c1 << 8 | c2`` holds the converted channels of the pixel
    ``(c0, c1, c2)`` packed the same way.

    Made once per process by Pillow itself (a few seconds of one CPU
    core), so a lookup is Pillow's result by construction; then cached,
    and copied once to each ``device``.

    Args:
        src (str): Pillow mode of the pixels, e.g. ``'RGB'``.
        dst (str): Pillow mode to convert to, e.g. ``'HSV'``.
        device (str | torch.device): Where the table is wanted. Defaults
            to ``'cpu'``.
    """
    key = (src, dst, str(torch.device(device)))
    if key not in _CONVERT_TABLES:
        cpu = (src, dst, 'cpu')
        if cpu not in _CONVERT_TABLES:
            from PIL import Image

            # every packed value 0 .. 2 ** 24 - 1, whose little-endian
            # bytes are (c2, c1, c0, 0): one 4096 x 4096 image of all the
            # pixels (c0, c1, c2)
            every = np.arange(1 << 24, dtype='<u4')
            img = Image.frombuffer('RGB', (4096, 4096), every, 'raw', 'BGRX',
                                   0, 1)
            if src != 'RGB':
                img = Image.merge(src, img.split())
            out = img.convert(dst)
            # packed back the same way: bytes (d2, d1, d0, 0)
            packed = Image.merge(
                'RGBA', (*out.split()[::-1], Image.new('L', out.size, 0)))
            _CONVERT_TABLES[cpu] = torch.from_numpy(
                np.array(packed).reshape(-1, 4).view('<i4').reshape(-1))
        _CONVERT_TABLES[key] = _CONVERT_TABLES[cpu].to(device)
    return _CONVERT_TABLES[key]


def pil_hue(imgs: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Pillow's RGB -> HSV (uint8 channels), ``H += shift`` (mod 256),
    HSV -> RGB, as ltplug's ``adjust_hue`` with the pillow backend:
    exactly, by two lookups in tables of Pillow's own conversions of every
    24-bit pixel (:func:`pillow_convert_table`; 128 MiB on the batch's
    device, made on first use).

    Args:
        imgs (torch.Tensor): RGB batch.
        shift (torch.Tensor): ``(N,)`` int64 hue shift in 0..255
            (``int(hue_factor * 255) % 256``).
    """
    n, _, h, w = imgs.shape
    r, g, b = imgs.float().unbind(1)
    # the packed pixel, exact in float32 (at most 2 ** 24 - 1)
    rgb = (r * 65536. + g * 256. + b).view(-1).long()
    hsv = pillow_convert_table('RGB', 'HSV', imgs.device).index_select(
        0, rgb).view(n, -1)
    # H is the top byte: adding shift << 16 and keeping 24 bits is the
    # uint8 H + shift (mod 256)
    hsv = (hsv + (shift.to(torch.int32) << 16).view(-1, 1)) & 0xFFFFFF
    out = pillow_convert_table('HSV', 'RGB', imgs.device).index_select(
        0, hsv.view(-1).long()).view(n, 1, h, w)
    return torch.cat([out >> 16, (out >> 8) & 255, out & 255],
                     1).to(imgs.dtype)


def weighted_gray(imgs: torch.Tensor,
                  weights: Sequence[float]) -> torch.Tensor:
    """MMPretrain's ``RandomGrayscale``: ``sum(w / sum(w) * img)`` in
    float64 (numpy's order), truncated, repeated over the channels."""
    total = sum(weights)
    w = [float(v) / total for v in weights]
    x = imgs.double()
    gray = torch.floor(((x[:, 0] * w[0] + x[:, 1] * w[1]) +
                        x[:, 2] * w[2]).unsqueeze(1))  # >= 0: trunc
    return gray.expand_as(imgs).to(imgs.dtype)


def box_radius(sigma: torch.Tensor, passes: int = 3) -> torch.Tensor:
    """Pillow's ``_gaussian_blur_radius``: the extended box radius whose
    ``passes`` box blurs approximate a Gaussian of std ``sigma`` (float32,
    as Pillow)."""
    s2 = sigma.float()**2 / passes  # Pillow computes in float32
    big_l = torch.sqrt(12. * s2 + 1.)
    l_ = torch.floor((big_l - 1.) / 2.)
    a = (2 * l_ + 1) * (l_ * (l_ + 1) - 3 * s2)
    a = a / (6 * (s2 - (l_ + 1) * (l_ + 1)))
    return l_ + a


def pil_gaussian_blur(imgs: torch.Tensor, sigma: torch.Tensor,
                      passes: int = 3) -> torch.Tensor:
    """``ImageFilter.GaussianBlur(radius=sigma)``: Pillow's 3 extended box
    blurs per axis (horizontal passes first), 24-bit fixed-point weights,
    edge pixels repeated, rounded to uint8 after every pass; each pass is
    a sum of shifted copies with per-sample tap weights, in float64
    (integers below 2 ** 53: exact)."""
    radius = box_radius(sigma, passes)  # (N,) float32
    r_int = torch.floor(radius).double()
    ww = torch.floor((float(1 << 24) / (radius * 2 + 1)).double())
    fw = torch.floor(((1 << 24) - (r_int * 2 + 1) * ww) / 2)
    reach = int(r_int.max()) + 1
    # tap weight of every offset -reach..reach, per sample: ww inside the
    # box, fw on its two edge taps, 0 beyond
    off = torch.arange(-reach, reach + 1, device=imgs.device,
                       dtype=torch.float64).abs()[None]
    r_col = r_int[:, None]
    taps = torch.where(off <= r_col, ww[:, None], torch.where(
        off == r_col + 1, fw[:, None], torch.zeros_like(off)))
    taps = [t.view(-1, 1, 1, 1) for t in taps.unbind(1)]
    half, inv_scale = float(1 << 23), 1. / float(1 << 24)

    def box(x, dim):
        length = x.shape[dim]
        # edge pixels repeated (a concatenation: several times faster on
        # the CPU than F.pad(mode='replicate') in float64)
        first, last = x.narrow(dim, 0, 1), x.narrow(dim, length - 1, 1)
        reps = [1, 1, 1, 1]
        reps[dim] = reach
        padded = torch.cat([first.repeat(reps), x, last.repeat(reps)], dim)
        acc = padded.narrow(dim, 0, length) * taps[0]
        for k in range(1, 2 * reach + 1):
            acc.addcmul_(padded.narrow(dim, k, length), taps[k])
        return torch.floor((acc + half) * inv_scale).clamp_(0, 255)

    x = imgs.double()
    for _ in range(passes):
        x = box(x, 3)
    for _ in range(passes):
        x = box(x, 2)
    return x.to(imgs.dtype)
