# Copyright (c) ltplug contributors. All rights reserved.
"""Batched geometric helpers for the ``Batch*`` augmentations.

Every function takes a float batch ``(N, C, H, W)`` holding uint8 values
(0..255, integral) and per-sample parameters as tensors of length ``N``,
and returns a batch of the same kind. They reproduce the per-sample
OpenCV / Pillow / MMCV arithmetic where the text says so.
"""
from typing import Callable, Optional, Sequence, Union

import torch
import torch.nn.functional as F

AB_BITS = 10  # OpenCV warpAffine's fixed-point bits (AB_SCALE = 1024)
CUBIC_A = -0.75  # OpenCV's bicubic coefficient


def apply_subset(imgs: torch.Tensor, mask: torch.Tensor, fn: Callable,
                 *params: torch.Tensor) -> torch.Tensor:
    """Apply ``fn`` to the samples selected by ``mask`` only.

    ``imgs[mask] = fn(imgs[mask], *(p[mask] for p in params))``, written in
    place into ``imgs`` (:func:`apply_grouped` with one op); ``fn`` runs on
    the selected samples only.

    Args:
        imgs (torch.Tensor): ``(N, C, H, W)`` batch (modified in place).
        mask (torch.Tensor): ``(N,)`` bool, the samples to transform.
        fn (Callable): ``fn(sub_imgs, *sub_params) -> sub_imgs``.
        *params (torch.Tensor): Per-sample parameters, first dim ``N``.

    Returns:
        torch.Tensor: ``imgs``.
    """
    return apply_grouped(imgs, mask.long() - 1, (fn, ), *params)


def apply_grouped(imgs: torch.Tensor, op_ids: torch.Tensor,
                  fns: Sequence[Callable],
                  *params: torch.Tensor) -> torch.Tensor:
    """Apply ``fns[op_ids[n]]`` to every sample ``n`` (none where
    ``op_ids[n] < 0``): one reorder of the batch by op, each op on a
    contiguous slice, one reorder back.

    Each ``fns[k]`` sees only the samples with ``op_ids == k`` (and their
    ``params``); the batch is reordered twice in all, whatever the number
    of ops.

    Args:
        imgs (torch.Tensor): ``(N, C, H, W)`` batch (modified in place).
        op_ids (torch.Tensor): ``(N,)`` int64 op index per sample, -1: none.
        fns (Sequence[Callable]): ``fn(sub_imgs, *sub_params) ->
            sub_imgs`` per op index.
        *params (torch.Tensor): Per-sample parameters, first dim ``N``.

    Returns:
        torch.Tensor: ``imgs``.
    """
    if op_ids.numel() == 0:
        return imgs
    order = torch.argsort(op_ids, stable=True)
    counts = torch.bincount(op_ids.clamp(min=-1) + 1,
                            minlength=len(fns) + 1).tolist()
    if len(counts) > len(fns) + 1:
        raise ValueError(f'apply_grouped: op ids must be below the number of '
                         f'ops ({len(fns)}), but got {int(op_ids.max())}')
    if counts[0] == len(op_ids):
        return imgs
    x = imgs.index_select(0, order)
    ps = [p.index_select(0, order) for p in params]
    begin = counts[0]  # the samples with no op come first
    for fn, count in zip(fns, counts[1:]):
        if count:
            end = begin + count
            x[begin:end] = fn(x[begin:end], *[p[begin:end] for p in ps])
            begin = end
    # back to the batch's order by the inverse permutation: a gather of the
    # whole batch is several times faster on the CPU than ``index_copy_``
    # of the changed rows
    imgs.copy_(x.index_select(0, torch.argsort(order)))
    return imgs


def gather_pixels(imgs: torch.Tensor, ys: torch.Tensor,
                  xs: torch.Tensor) -> torch.Tensor:
    """``imgs[n, :, ys[n], xs[n]]`` for in-range ``(N, h, w)`` int64 row /
    column maps (one flat ``gather``) -> ``(N, C, h, w)``."""
    n, c, height, width = imgs.shape
    idx = (ys * width + xs).reshape(n, 1, -1).expand(n, c, -1)
    out = imgs.reshape(n, c, height * width).gather(2, idx)
    return out.view(n, c, *ys.shape[1:])


def crop_batch(imgs: torch.Tensor, top: torch.Tensor, left: torch.Tensor,
               height: int, width: int) -> torch.Tensor:
    """Crop a ``height x width`` window at per-sample offsets (one flat
    ``gather``).

    Args:
        imgs (torch.Tensor): ``(N, C, H, W)``.
        top (torch.Tensor): ``(N,)`` int64 row offsets.
        left (torch.Tensor): ``(N,)`` int64 column offsets.
        height (int): Crop height.
        width (int): Crop width.

    Returns:
        torch.Tensor: ``(N, C, height, width)``.
    """
    dev = imgs.device
    rows = top[:, None, None] + torch.arange(height, device=dev)[:, None]
    cols = left[:, None, None] + torch.arange(width, device=dev)
    return gather_pixels(imgs, rows.expand(-1, height, width),
                         cols.expand(-1, height, width))


def invert_affine(matrix: torch.Tensor) -> torch.Tensor:
    """``cv2.invertAffineTransform`` for a batch of ``(N, 2, 3)`` matrices
    (float64)."""
    # one unbind instead of an indexing op per coefficient
    m00, m01, m02, m10, m11, m12 = matrix.double().reshape(-1, 6).unbind(1)
    det = m00 * m11 - m01 * m10
    det = torch.where(det != 0, 1. / det, torch.zeros_like(det))
    a11, a22 = m11 * det, m00 * det
    a12, a21 = -m01 * det, -m10 * det
    b1 = -a11 * m02 - a12 * m12
    b2 = -a21 * m02 - a22 * m12
    return torch.stack([a11, a12, b1, a21, a22, b2], 1).view(-1, 2, 3)


def _fixed_point_maps(inv: torch.Tensor, h: int, w: int,
                      shift: int) -> torch.Tensor:
    """OpenCV warpAffine's fixed-point source coordinates of every output
    pixel, ``(N, 2, H, W)`` int64 (x, then y), in units of ``2 ** -shift``
    pixels."""
    dev = inv.device
    xs = torch.arange(w, device=dev, dtype=torch.float64)
    ys = torch.arange(h, device=dev, dtype=torch.float64)
    scale = float(1 << AB_BITS)
    a = torch.round(inv[:, :, 0, None] * xs * scale).long()  # (N, 2, W)
    b = torch.round((inv[:, :, 1, None] * ys + inv[:, :, 2, None]) *
                    scale).long()  # (N, 2, H)
    round_delta = 1 << (AB_BITS - shift - 1)
    return (a[:, :, None, :] + b[:, :, :, None] + round_delta) >> (
        AB_BITS - shift)


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
        xs, ys = (_fixed_point_maps(inv, h, w, 0) + pad).unbind(1)
        return gather_pixels(padded, ys.clamp(0, h + 2 * pad - 1),
                             xs.clamp(0, w + 2 * pad - 1))
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
    # taps whose weight is 0 for every pixel (a shear along one axis keeps
    # the other coordinate integral: 1 tap of 4) add exact zeros: skipped
    # on the CPU (the check would sync a GPU)
    if imgs.device.type == 'cpu':
        rows_used = [i for i in range(4) if bool(wy[i].any())]
        cols_used = [j for j in range(4) if bool(wx[j].any())]
    else:
        rows_used = cols_used = list(range(4))
    out = torch.zeros_like(imgs)
    for i in rows_used:
        yy = (y0 + i - 1 + pad).clamp(0, h + 2 * pad - 1)
        for j in cols_used:
            xx = (x0 + j - 1 + pad).clamp(0, w + 2 * pad - 1)
            weight = (wy[i] * wx[j]).to(imgs.dtype)[:, None]
            out += gather_pixels(padded, yy, xx) * weight
    return out.round().clamp(0, 255)


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


def _identity_with(value: torch.Tensor, row: int, col: int) -> torch.Tensor:
    """``(N, 2, 3)`` identity affine matrices with ``[row, col] = value``
    (rounded to float32 first, as MMCV builds its float32 matrices)."""
    m = torch.eye(2, 3, dtype=torch.float64, device=value.device)
    m = m.repeat(value.shape[0], 1, 1)
    m[:, row, col] = value.float().double()
    return m


def shear_matrix(magnitude: torch.Tensor, direction: str) -> torch.Tensor:
    """``mmcv.imshear``'s matrix per sample."""
    return _identity_with(magnitude, *((0, 1) if direction == 'horizontal'
                                       else (1, 0)))


def translate_matrix(offset: torch.Tensor, direction: str) -> torch.Tensor:
    """``mmcv.imtranslate``'s matrix per sample (offset in pixels)."""
    return _identity_with(offset, 0 if direction == 'horizontal' else 1, 2)


def resize_crop_bilinear(imgs: torch.Tensor, top: torch.Tensor,
                         left: torch.Tensor, height: torch.Tensor,
                         width: torch.Tensor, out_h: int,
                         out_w: int) -> torch.Tensor:
    """Crop a per-sample box and resize it to ``out_h x out_w`` as Pillow's
    bilinear ``resize`` does when upsampling (or keeping the size).

    Two passes (batched float64 matmuls, exact), horizontal first, each
    with Pillow's 22-bit fixed-point weights and rounding to uint8 in
    between; the taps are clamped to the
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
    dev = imgs.device
    n, c, h, w = imgs.shape

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

    def matrix(start, size, length, out):
        # (N, length, out): Pillow's two fixed-point taps per output pixel
        # (integers up to 2 ** 22 + 1: exact in float32)
        i0, i1, w0, w1 = taps(start, size, out)
        m = torch.zeros(n, length, out, dtype=torch.float32, device=dev)
        m.scatter_add_(1, i0[:, None], w0[:, None].float())
        m.scatter_add_(1, i1[:, None], w1[:, None].float())
        return m

    rows = imgs.reshape(n, c * h, w)  # horizontal pass first
    horiz = fixed_point_matmul(rows, matrix(left, width, w, out_w), 11)
    cols = horiz.view(n, c, h, out_w).transpose(2, 3).reshape(
        n, c * out_w, h)
    out = fixed_point_matmul(cols, matrix(top, height, h, out_h), 11)
    return out.view(n, c, out_w, out_h).transpose(2, 3).contiguous().to(
        imgs.dtype)


def fixed_point_matmul(x: torch.Tensor,
                       m: torch.Tensor,
                       bits: int,
                       split: Optional[bool] = None) -> torch.Tensor:
    """``floor((x @ m + 2 ** (2 * bits - 1)) / 2 ** (2 * bits))``, clipped to
    0..255, for uint8-valued ``x`` ``(N, R, K)`` and non-negative integer
    weights ``m`` ``(N, K, M)`` (float32, exact) whose columns sum to at
    most ``2 ** (2 * bits) + 1`` with at most 2 non-zero weights each (a
    bilinear filter's taps): exact.

    On the CPU the weights are split into high and low ``bits``-bit halves
    and both products run in one float32 ``bmm`` (every partial sum is an
    integer below ``2 ** 24``); the halves are recombined without leaving
    float32's exact range, as ``floor((A + floor((B + half) / 2 ** bits))
    / 2 ** bits)``, which equals the rounding of the whole sum. Elsewhere
    (a GPU's float32 matmul may round through TF32) it is one float64
    ``bmm``.

    Args:
        x (torch.Tensor): ``(N, R, K)`` uint8-valued batch.
        m (torch.Tensor): ``(N, K, M)`` float32 integer weights.
        bits (int): Half the fixed-point bits (11 for Pillow's 22-bit
            bilinear weights).
        split (bool, optional): Force the split float32 path (True) or
            the float64 one (False). Defaults to None: split on the CPU.

    Returns:
        torch.Tensor: ``(N, R, M)``, uint8 values.
    """
    one = float(1 << bits)
    half = float(1 << (2 * bits - 1))
    if split is None:
        split = x.device.type == 'cpu'
    if not split:
        out = torch.bmm(x.double(), m.double())
        return torch.floor((out + half) * (1. / (one * one))).clamp_(0, 255)
    high = torch.floor(m * (1. / one))
    low = m - high * one
    k = m.shape[2]
    both = torch.bmm(x.float(), torch.cat([high, low], 2))
    q = torch.floor((both[..., k:] + half) * (1. / one))
    return torch.floor((both[..., :k] + q) * (1. / one)).clamp_(0, 255)
