# Copyright (c) ltplug contributors. All rights reserved.
from typing import Optional, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmpretrain.registry import TRANSFORMS

from .load_image_from_file_checked import CorruptImageError, truncation_reason

_JPEG_SOI = b'\xff\xd8'
#: start-of-frame markers (C0..CF less DHT C4, JPG C8, DAC CC)
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
#: markers without a length field (TEM, RST0..7, SOI, EOI)
_STANDALONE = frozenset([0x01, *range(0xD0, 0xDA)])


def jpeg_size(img_bytes: bytes) -> Optional[Tuple[int, int]]:
    """``(height, width)`` from a JPEG's start-of-frame header, or None.

    Walks the marker segments from the start of the file up to the first
    start-of-frame segment (a few hundred bytes for a camera file; no
    pixel data is read).

    Args:
        img_bytes (bytes): The encoded file (starting with ``FF D8``).

    Returns:
        tuple[int, int] | None: The frame size, or None when no
        start-of-frame header is found before the first scan.
    """
    pos, end = 2, len(img_bytes)
    while pos + 4 <= end:
        if img_bytes[pos] != 0xFF:
            return None
        marker = img_bytes[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker == 0xDA:  # start of scan before any frame header
            return None
        length = int.from_bytes(img_bytes[pos + 2:pos + 4], 'big')
        if marker in _SOF_MARKERS:
            if pos + 9 > end:
                return None
            h = int.from_bytes(img_bytes[pos + 5:pos + 7], 'big')
            w = int.from_bytes(img_bytes[pos + 7:pos + 9], 'big')
            return (h, w) if h > 0 and w > 0 else None
        pos += 2 + length
    return None


@TRANSFORMS.register_module()
class LoadJPEGBytes(BaseTransform):
    """Load a JPEG file's encoded bytes, undecoded, for decoding on the
    device (``DecodeBatchAugDataPreprocessor``).

    ``results['img']`` becomes a 1-D uint8 ``torch.Tensor`` of the file's
    bytes, which ``PackInputs`` passes through unchanged as ``inputs``;
    ``img_shape`` / ``ori_shape`` are read from the JPEG's frame header (no
    decode). Samples of a batch have different lengths, so the dataloader
    must keep them as a list: MMEngine's ``pseudo_collate`` (the runner's
    default ``collate_fn``) does, ``default_collate`` would try to stack
    them and fail.

    Raises :class:`CorruptImageError` naming the file when it is empty,
    not a JPEG (no ``FF D8`` start-of-image marker: e.g. a PNG renamed
    ``.JPEG``), truncated (:func:`truncation_reason`), or without a frame
    header; a missing file raises ``FileNotFoundError`` naming it.
    Nothing else is checked before the decoder runs.

    Args:
        backend_args (dict, optional): Arguments of the file backend
            (``mmengine.fileio.get``). Defaults to None.
    """

    def __init__(self, backend_args: Optional[dict] = None) -> None:
        self.backend_args = None if backend_args is None else \
            dict(backend_args)

    def transform(self, results: dict) -> dict:
        """Read ``results['img_path']`` into ``results['img']``."""
        if 'img_path' not in results:
            raise KeyError(
                f'LoadJPEGBytes reads files: results need an img_path, but '
                f'got keys {sorted(results)} (an inferencer passing decoded '
                f'arrays should use the per-sample config of the same model)')
        filename = results['img_path']
        try:
            img_bytes = fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'image file {filename} does not exist') \
                from e
        if len(img_bytes) == 0:
            raise CorruptImageError(f'image file {filename} is empty')
        if not img_bytes.startswith(_JPEG_SOI):
            raise CorruptImageError(
                f'image file {filename} is not a JPEG (it starts with '
                f'{bytes(img_bytes[:8])!r}, not the start-of-image marker '
                f"b'\\xff\\xd8'): LoadJPEGBytes feeds a JPEG decoder only; "
                f're-encode the file as JPEG or use LoadImageFromFileChecked')
        reason = truncation_reason(img_bytes)
        if reason is not None:
            raise CorruptImageError(
                f'cannot decode image file {filename}: {reason}')
        size = jpeg_size(img_bytes)
        if size is None:
            raise CorruptImageError(
                f'cannot decode image file {filename}: no JPEG frame header '
                f'(start-of-frame marker) before its first scan')
        results['img'] = torch.from_numpy(
            np.frombuffer(img_bytes, dtype=np.uint8).copy())
        results['img_shape'] = size
        results['ori_shape'] = size
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(backend_args={self.backend_args!r})'
