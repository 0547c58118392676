# Copyright (c) ltplug contributors. All rights reserved.
"""Batched colour helpers for the ``Batch*`` augmentations.

Every function takes a float RGB batch ``(N, 3, H, W)`` holding uint8
values (0..255, integral) and per-sample factors as tensors of length
``N``, and returns a uint8-valued batch. ``mmcv_*`` functions follow MMCV's
cv2-backend arithmetic (what MMPretrain's AutoAugment ops call: float
blend, truncation to uint8), ``pil_*`` functions follow Pillow's (what
MMPretrain's ``ColorJitter`` with its default ``'pillow'`` backend calls).
"""
from typing import Sequence

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


def _is_zero(x: torch.Tensor) -> torch.Tensor:
    """``1.`` where the non-negative integer-valued ``x`` is 0, else
    ``0.`` (arithmetic: faster than a comparison and ``where`` on the
    CPU)."""
    return (1. - x).clamp_(min=0.)


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
    uint8: reflect-101 border, rounded)."""
    c = imgs.shape[1]
    kernel = imgs.new_tensor([[1., 1., 1.], [1., 5., 1.], [1., 1., 1.]]) / 13
    kernel = kernel.expand(c, 1, 3, 3)
    smooth = F.conv2d(F.pad(imgs, (1, 1, 1, 1), mode='reflect'), kernel,
                      groups=c)
    return mmcv_blend(imgs, torch.round(smooth).clamp(0, 255), factor)


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


def pil_hue(imgs: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Pillow's RGB -> HSV (uint8 channels), ``H += shift`` (mod 256),
    HSV -> RGB, as ltplug's ``adjust_hue`` with the pillow backend.

    Float32, as Pillow; the branches of Pillow's formulas are taken by
    multiplying with 0 / 1 masks built by arithmetic on the integer
    values (exact, and several times faster on the CPU than comparisons
    and ``torch.where``).

    Args:
        imgs (torch.Tensor): RGB batch.
        shift (torch.Tensor): ``(N,)`` int64 hue shift in 0..255
            (``int(hue_factor * 255) % 256``).
    """
    x = imgs.float()
    r, g, b = x.unbind(1)
    maxc = torch.maximum(torch.maximum(r, g), b)
    minc = torch.minimum(torch.minimum(r, g), b)
    cr = maxc - minc
    grey = _is_zero(cr)  # 1: r == g == b
    crs = cr + grey  # the divisor, 1 where grey (its h is masked)
    s = cr / (maxc + _is_zero(maxc))
    rc, gc, bc = (maxc - r) / crs, (maxc - g) / crs, (maxc - b) / crs
    # Pillow: r == maxc first, then g == maxc, else b
    is_r = _is_zero(maxc - r)
    is_g = _is_zero(maxc - g) * (1. - is_r)
    is_b = 1. - is_r - is_g
    h = is_r * (bc - gc) + is_g * (2. + rc - bc) + is_b * (4. + gc - rc)
    h = h / 6. + 1.  # in [5/6, 11/6]: fmod(h, 1) is h - floor(h), exact
    h = h - torch.floor(h)
    colour = 1. - grey
    uh = torch.floor(h * 255.).clamp_(0, 255) * colour
    us = torch.floor(s * 255.).clamp_(0, 255) * colour
    uh = uh + shift.float().view(-1, 1, 1)  # 0..510 -> mod 256
    uh = uh - 256. * (uh - 255.).clamp_(0, 1)
    # HSV -> RGB (Pillow's hsv2rgb); sector i picks (r, g, b) from
    # 0: (v, t, p)  1: (q, v, p)  2: (p, v, t)  3: (p, q, v)  4: (t, p, v)
    # 5: (v, p, q)
    hf = uh * 6. / 255.
    i = torch.floor(hf)
    f = hf - i
    fs = us / 255.
    v = maxc
    p = torch.floor(v * (1. - fs) + 0.5).clamp_(0, 255)
    q = torch.floor(v * (1. - fs * f) + 0.5).clamp_(0, 255)
    t = torch.floor(v * (1. - fs * (1. - f)) + 0.5).clamp_(0, 255)
    i = i - 6. * (i - 5.).clamp_(0, 1)  # i == 6 (uh == 255) -> 0
    m = [(1. - (i - k).abs_()).clamp_(min=0.) for k in range(6)]
    vp, qp, tp = v - p, q - p, t - p
    r_out = p + vp * (m[0] + m[5]) + qp * m[1] + tp * m[4]
    g_out = p + tp * m[0] + vp * (m[1] + m[2]) + qp * m[3]
    b_out = p + tp * m[2] + vp * (m[3] + m[4]) + qp * m[5]
    rgb = torch.stack([r_out, g_out, b_out], 1)
    keep = _is_zero(us).unsqueeze(1)  # s == 0: (v, v, v)
    return (rgb + (v.unsqueeze(1) - rgb) * keep).to(imgs.dtype)


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
        padded = F.pad(x, (reach, reach, 0, 0) if dim == 3 else
                       (0, 0, reach, reach), mode='replicate')
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
