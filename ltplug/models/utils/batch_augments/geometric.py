# Copyright (c) ltplug contributors. All rights reserved.
"""Batched geometric helpers for the ``Batch*`` augmentations.

Every function takes a float batch ``(N, C, H, W)`` holding uint8 values
(0..255, integral) and per-sample parameters as tensors of length ``N``,
and returns a batch of the same kind. They reproduce the per-sample
OpenCV / Pillow / MMCV arithmetic where the text says so.
"""
from typing import Callable, Sequence, Union

import torch
import torch.nn.functional as F

AB_BITS = 10  # OpenCV warpAffine's fixed-point bits (AB_SCALE = 1024)
CUBIC_A = -0.75  # OpenCV's bicubic coefficient


def apply_subset(imgs: torch.Tensor, mask: torch.Tensor, fn: Callable,
                 *params: torch.Tensor) -> torch.Tensor:
    """Apply ``fn`` to the samples selected by ``mask`` only.

    ``imgs[mask] = fn(imgs[mask], *(p[mask] for p in params))``, written in
    place into ``imgs``; samples outside ``mask`` cost nothing.

    Args:
        imgs (torch.Tensor): ``(N, C, H, W)`` batch (modified in place).
        mask (torch.Tensor): ``(N,)`` bool, the samples to transform.
        fn (Callable): ``fn(sub_imgs, *sub_params) -> sub_imgs``.
        *params (torch.Tensor): Per-sample parameters, first dim ``N``.

    Returns:
        torch.Tensor: ``imgs``.
    """
    idx = mask.nonzero(as_tuple=True)[0]
    if idx.numel() == 0:
        return imgs
    sub = fn(imgs.index_select(0, idx),
             *[p.index_select(0, idx) for p in params])
    imgs.index_copy_(0, idx, sub.to(imgs.dtype))
    return imgs


def crop_batch(imgs: torch.Tensor, top: torch.Tensor, left: torch.Tensor,
               height: int, width: int) -> torch.Tensor:
    """Crop a ``height x width`` window at per-sample offsets.

    Args:
        imgs (torch.Tensor): ``(N, C, H, W)``.
        top (torch.Tensor): ``(N,)`` int64 row offsets.
        left (torch.Tensor): ``(N,)`` int64 column offsets.
        height (int): Crop height.
        width (int): Crop width.

    Returns:
        torch.Tensor: ``(N, C, height, width)``.
    """
    n = imgs.shape[0]
    dev = imgs.device
    rows = top[:, None] + torch.arange(height, device=dev)
    cols = left[:, None] + torch.arange(width, device=dev)
    batch = torch.arange(n, device=dev)[:, None, None]
    out = imgs.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2)


def invert_affine(matrix: torch.Tensor) -> torch.Tensor:
    """``cv2.invertAffineTransform`` for a batch of ``(N, 2, 3)`` matrices
    (float64)."""
    m = matrix.double()
    det = m[:, 0, 0] * m[:, 1, 1] - m[:, 0, 1] * m[:, 1, 0]
    det = torch.where(det != 0, 1. / det, torch.zeros_like(det))
    a11, a22 = m[:, 1, 1] * det, m[:, 0, 0] * det
    a12, a21 = -m[:, 0, 1] * det, -m[:, 1, 0] * det
    b1 = -a11 * m[:, 0, 2] - a12 * m[:, 1, 2]
    b2 = -a21 * m[:, 0, 2] - a22 * m[:, 1, 2]
    return torch.stack([torch.stack([a11, a12, b1], 1),
                        torch.stack([a21, a22, b2], 1)], 1)


def _fixed_point_map(inv: torch.Tensor, h: int, w: int, row: int,
                     shift: int) -> torch.Tensor:
    """OpenCV warpAffine's fixed-point source coordinate of every output
    pixel, ``(N, H, W)`` int64, in units of ``2 ** -shift`` pixels."""
    dev = inv.device
    xs = torch.arange(w, device=dev, dtype=torch.float64)
    ys = torch.arange(h, device=dev, dtype=torch.float64)
    scale = float(1 << AB_BITS)
    a = torch.round(inv[:, row, 0, None] * xs * scale).long()  # (N, W)
    b = torch.round((inv[:, row, 1, None] * ys + inv[:, row, 2, None]) *
                    scale).long()  # (N, H)
    round_delta = 1 << (AB_BITS - shift - 1)
    return (a[:, None, :] + b[:, :, None] + round_delta) >> (AB_BITS - shift)


def _gather(padded: torch.Tensor, ys: torch.Tensor,
            xs: torch.Tensor) -> torch.Tensor:
    """``padded[n, :, ys[n], xs[n]]`` -> ``(N, C, H, W)``."""
    n = padded.shape[0]
    batch = torch.arange(n, device=padded.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, ys, xs].permute(0, 3, 1, 2)


def _cubic_weights(frac: torch.Tensor) -> Sequence[torch.Tensor]:
    """OpenCV's 4 bicubic tap weights (A = -0.75) at ``frac`` in [0, 1)."""
    a = CUBIC_A
    x = frac + 1
    w0 = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    w1 = ((a + 2) * frac - (a + 3)) * frac * frac + 1
    y = 1 - frac
    w2 = ((a + 2) * y - (a + 3)) * y * y + 1
    return w0, w1, w2, 1 - w0 - w1 - w2


def warp_affine(imgs: torch.Tensor,
                matrix: torch.Tensor,
                interpolation: str = 'nearest',
                fill: Union[float, Sequence[float]] = 128.) -> torch.Tensor:
    """``cv2.warpAffine(img, matrix, (W, H), flags, borderValue=fill)`` on
    a batch, one forward matrix per sample.

    Nearest neighbour reproduces OpenCV's fixed-point source coordinates
    exactly. Bicubic (A = -0.75) samples at the exact float source
    coordinates, as OpenCV 5 does; its rounding may differ by 1 on a few
    pixels in 10,000.

    Args:
        imgs (torch.Tensor): ``(N, C, H, W)`` uint8-valued float batch.
        matrix (torch.Tensor): ``(N, 2, 3)`` forward affine matrices.
        interpolation (str): ``'nearest'`` or ``'bicubic'``. Defaults to
            ``'nearest'``.
        fill (float | Sequence[float]): Border value, one or per channel.
            Defaults to 128.

    Returns:
        torch.Tensor: The warped batch, uint8-valued.
    """
    if interpolation not in ('nearest', 'bicubic'):
        raise ValueError(f"warp_affine: interpolation must be 'nearest' or "
                         f"'bicubic', but got {interpolation!r}")
    n, c, h, w = imgs.shape
    inv = invert_affine(matrix)
    pad = 2
    fill = torch.as_tensor(fill, dtype=imgs.dtype,
                           device=imgs.device).expand(c).view(1, c, 1, 1)
    padded = F.pad(imgs - fill, (pad, ) * 4) + fill
    if interpolation == 'nearest':
        xs = _fixed_point_map(inv, h, w, 0, 0)
        ys = _fixed_point_map(inv, h, w, 1, 0)
        xs = (xs + pad).clamp(0, w + 2 * pad - 1)
        ys = (ys + pad).clamp(0, h + 2 * pad - 1)
        return _gather(padded, ys, xs)
    gx = torch.arange(w, device=imgs.device, dtype=torch.float64)
    gy = torch.arange(h, device=imgs.device, dtype=torch.float64)

    def src(row):
        return (inv[:, row, 0, None, None] * gx + inv[:, row, 1, None, None] *
                gy[:, None] + inv[:, row, 2, None, None])  # (N, H, W)

    sx, sy = src(0), src(1)
    x0, y0 = sx.floor(), sy.floor()
    wx = _cubic_weights(sx - x0)
    wy = _cubic_weights(sy - y0)
    x0, y0 = x0.long(), y0.long()
    out = torch.zeros_like(imgs, dtype=torch.float64)
    for i in range(4):
        yy = (y0 + i - 1 + pad).clamp(0, h + 2 * pad - 1)
        for j in range(4):
            xx = (x0 + j - 1 + pad).clamp(0, w + 2 * pad - 1)
            out += _gather(padded, yy, xx) * (wy[i] * wx[j])[:, None]
    return out.round().clamp(0, 255).to(imgs.dtype)


def rotation_matrix(angle: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """``cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), -angle, 1)``
    per sample, as ``mmcv.imrotate`` builds it (positive angle:
    clockwise)."""
    rad = torch.deg2rad(-angle.double())
    alpha, beta = torch.cos(rad), torch.sin(rad)
    cx, cy = (w - 1) * 0.5, (h - 1) * 0.5
    row0 = torch.stack([alpha, beta, (1 - alpha) * cx - beta * cy], 1)
    row1 = torch.stack([-beta, alpha, beta * cx + (1 - alpha) * cy], 1)
    return torch.stack([row0, row1], 1)


def shear_matrix(magnitude: torch.Tensor, direction: str) -> torch.Tensor:
    """``mmcv.imshear``'s float32 matrix per sample."""
    m = magnitude.float().double()
    one, zero = torch.ones_like(m), torch.zeros_like(m)
    if direction == 'horizontal':
        rows = [[one, m, zero], [zero, one, zero]]
    else:
        rows = [[one, zero, zero], [m, one, zero]]
    return torch.stack([torch.stack(r, 1) for r in rows], 1)


def translate_matrix(offset: torch.Tensor, direction: str) -> torch.Tensor:
    """``mmcv.imtranslate``'s float32 matrix per sample (offset in
    pixels)."""
    o = offset.float().double()
    one, zero = torch.ones_like(o), torch.zeros_like(o)
    if direction == 'horizontal':
        rows = [[one, zero, o], [zero, one, zero]]
    else:
        rows = [[one, zero, zero], [zero, one, o]]
    return torch.stack([torch.stack(r, 1) for r in rows], 1)


def resize_crop_bilinear(imgs: torch.Tensor, top: torch.Tensor,
                         left: torch.Tensor, height: torch.Tensor,
                         width: torch.Tensor, out_h: int,
                         out_w: int) -> torch.Tensor:
    """Crop a per-sample box and resize it to ``out_h x out_w`` as Pillow's
    bilinear ``resize`` does when upsampling (or keeping the size).

    Two passes, horizontal first, each with Pillow's 22-bit fixed-point
    weights and rounding to uint8 in between; the taps are clamped to the
    crop, as Pillow resizes the cropped array. Boxes larger than the output
    (downsampling, Pillow's antialiasing filter) are not supported.

    Args:
        imgs (torch.Tensor): ``(N, C, H, W)`` uint8-valued float batch.
        top, left, height, width (torch.Tensor): ``(N,)`` int64 boxes.
        out_h (int): Output height.
        out_w (int): Output width.

    Returns:
        torch.Tensor: ``(N, C, out_h, out_w)``.
    """
    if bool((height > out_h).any()) or bool((width > out_w).any()):
        raise ValueError(
            f'resize_crop_bilinear: boxes must not exceed the output size '
            f'({out_h}, {out_w}), but got heights up to '
            f'{int(height.max())} and widths up to {int(width.max())}')
    n = imgs.shape[0]
    dev = imgs.device
    batch = torch.arange(n, device=dev)

    def taps(start, size, out):
        centre = (torch.arange(out, device=dev, dtype=torch.float64) +
                  0.5) * (size.double()[:, None] / out)
        pos = (centre - 0.5).clamp(min=0.)
        pos = torch.minimum(pos, (size - 1).double()[:, None])
        i0 = pos.floor().long()
        frac = pos - i0
        w1 = torch.floor(0.5 + frac * (1 << 22))
        w0 = torch.floor(0.5 + (1 - frac) * (1 << 22))
        i1 = torch.minimum(i0 + 1, (size - 1)[:, None])
        return start[:, None] + i0, start[:, None] + i1, w0, w1

    x0, x1, wx0, wx1 = taps(left, width, out_w)  # (N, out_w)
    y0, y1, wy0, wy1 = taps(top, height, out_h)
    img = imgs.double()
    b = batch[:, None]
    cols0 = img.permute(0, 3, 1, 2)[b, x0]  # (N, out_w, C, H)
    cols1 = img.permute(0, 3, 1, 2)[b, x1]
    horiz = torch.floor((cols0 * wx0[:, :, None, None] + cols1 *
                         wx1[:, :, None, None] + (1 << 21)) / (1 << 22))
    horiz = horiz.clamp(0, 255).permute(0, 3, 2, 1)  # (N, H, C, out_w)
    rows0, rows1 = horiz[b, y0], horiz[b, y1]  # (N, out_h, C, out_w)
    out = torch.floor((rows0 * wy0[:, :, None, None] + rows1 *
                       wy1[:, :, None, None] + (1 << 21)) / (1 << 22))
    return out.clamp(0, 255).permute(0, 2, 1, 3).to(imgs.dtype)
