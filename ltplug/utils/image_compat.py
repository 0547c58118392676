# Copyright (c) ltplug contributors. All rights reserved.
"""Hue jitter under numpy 2.

mmcv 2.x's ``adjust_hue`` shifts the hue channel with
``np.uint8(hue_factor * 255)``. numpy >= 2 raises ``OverflowError`` for a
negative value, so MMPretrain's ``ColorJitter(hue=h)`` crashes as soon as
it draws a negative factor (half the time). The SimCLR / MoCo-v2 colour
distortions of SSD, CBD and NCL all jitter hue. :func:`adjust_hue` is the
same operation with the shift taken modulo 256 (what numpy 1 did: a
cyclic shift of the uint8 hue channel); :func:`patch_mmcv_adjust_hue`
installs it into mmcv only when the installed numpy rejects the original.
"""
from typing import Optional

import numpy as np

__all__ = ['adjust_hue', 'patch_mmcv_adjust_hue']

_PATCHED = False
#: mmcv's own ``adjust_hue`` (kept when patched, for comparison).
original_adjust_hue = None


def _hue_shift(hue_factor: float) -> np.uint8:
    """The uint8 hue shift of ``hue_factor`` (cyclic, as numpy 1 cast it)."""
    return np.uint8(int(hue_factor * 255) % 256)


def adjust_hue(img: np.ndarray,
               hue_factor: float,
               backend: Optional[str] = None) -> np.ndarray:
    """Shift the hue of a BGR image cyclically by ``hue_factor`` turns.

    Args:
        img (np.ndarray): BGR image, ``(H, W, 3)`` (or ``(H, W)``).
        hue_factor (float): Shift in ``[-0.5, 0.5]``.
        backend (str, optional): ``'cv2'`` or ``'pillow'``. Defaults to None
            (mmcv's current ``imread_backend``).

    Returns:
        np.ndarray: The image with its hue shifted, same dtype.
    """
    import cv2
    from mmcv.image import photometric
    from PIL import Image

    if backend is None:
        backend = photometric.imread_backend
    if backend not in ('cv2', 'pillow'):
        raise ValueError(f"backend must be 'cv2' or 'pillow', but got "
                         f'{backend!r}')
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor must be in [-0.5, 0.5], but got '
                         f'{hue_factor}')
    if not isinstance(img, np.ndarray) or img.ndim not in (2, 3):
        raise TypeError(f'img must be a 2-d or 3-d ndarray, but got '
                        f'{type(img).__name__}')
    shift = _hue_shift(hue_factor)
    if backend == 'pillow':
        if img.dtype != np.uint8:
            raise TypeError(f'the pillow backend needs uint8, but got '
                            f'{img.dtype}')
        hsv = np.array(Image.fromarray(img[..., ::-1], mode='RGB').convert(
            'HSV'))
        with np.errstate(over='ignore'):
            hsv[..., 0] += shift
        rgb = Image.fromarray(hsv, mode='HSV').convert('RGB')
        return np.array(rgb, dtype=img.dtype)[..., ::-1]
    dtype = img.dtype
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    with np.errstate(over='ignore'):
        hsv[..., 0] += shift
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(dtype)


def _original_fails() -> bool:
    """Whether mmcv's own ``adjust_hue`` raises on a negative factor (the
    stand-down probe of :mod:`ltplug.utils.compat`).

    Returns:
        bool: True while the installed mmcv / numpy need the fix.
    """
    from mmcv.image import photometric
    original = original_adjust_hue or photometric.adjust_hue
    try:
        original(np.zeros((1, 1, 3), np.uint8), -0.1, backend='cv2')
    except OverflowError:
        return True
    return False


def patch_mmcv_adjust_hue() -> bool:
    """Install :func:`adjust_hue` as ``mmcv.adjust_hue`` (and in
    ``mmcv.image``) when numpy rejects mmcv's cast. Idempotent.

    Returns:
        bool: Whether mmcv now uses :func:`adjust_hue`.
    """
    global _PATCHED, original_adjust_hue
    if _PATCHED:
        return True
    if not _original_fails():
        return False
    import mmcv
    import mmcv.image
    import mmcv.image.photometric as photometric
    original_adjust_hue = photometric.adjust_hue
    for module in (mmcv, mmcv.image, photometric):
        if hasattr(module, 'adjust_hue'):
            module.adjust_hue = adjust_hue
    _PATCHED = True
    return True
