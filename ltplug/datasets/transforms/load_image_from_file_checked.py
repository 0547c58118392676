# Copyright (c) ltplug contributors. All rights reserved.
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmpretrain.registry import TRANSFORMS

_JPEG_SOI = b'\xff\xd8'
_JPEG_SOS = b'\xff\xda'
_JPEG_EOI = b'\xff\xd9'
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_PNG_IEND = b'IEND\xaeB`\x82'


class CorruptImageError(ValueError):
    """An image file that cannot be decoded completely."""


def truncation_reason(img_bytes: bytes) -> Optional[str]:
    """Why an encoded JPEG or PNG is incomplete, or None if it looks whole.

    A cheap structural check that reads no pixel data: a JPEG must have an
    end-of-image marker (``FF D9``) after the start of its last scan (the
    entropy-coded data of a scan cannot contain that marker, and an
    embedded EXIF thumbnail ends before the main image's first scan); a PNG
    must end with its ``IEND`` chunk. Other formats are left to the decoder.

    Args:
        img_bytes (bytes): The encoded file.

    Returns:
        str | None: The reason, or None.
    """
    if img_bytes.startswith(_JPEG_SOI):
        # Searched from the end for the end-of-image marker (a whole file
        # ends with it, so this is a few bytes of work), then forward for
        # a scan after it: both are short for a whole file.
        if img_bytes.find(_JPEG_SOS) < 0:
            return 'JPEG without image data (no start-of-scan marker)'
        end = img_bytes.rfind(_JPEG_EOI)
        if end < 0 or img_bytes.find(_JPEG_SOS, end) >= 0:
            return ('truncated JPEG (no end-of-image marker after its last '
                    'scan)')
    elif img_bytes.startswith(_PNG_SIGNATURE):
        if _PNG_IEND not in img_bytes[-16:]:
            return 'truncated PNG (no IEND chunk at its end)'
    return None


@TRANSFORMS.register_module()
class LoadImageFromFileChecked(LoadImageFromFile):
    """``LoadImageFromFile`` that refuses truncated or corrupt files.

    The stock transform reports an undecodable file only through an
    ``assert`` (gone under ``python -O``, after which the ``None`` image
    fails later with an unrelated ``AttributeError``); with
    ``ignore_empty=True`` it returns None and the dataset silently
    re-fetches another image; and whether a truncated JPEG decodes (into a
    partly grey image) depends on the OpenCV build. This one decodes the
    bytes once, with the configured backend, and raises
    :class:`CorruptImageError` naming the file when the decoder fails or
    returns nothing, or when :func:`truncation_reason` finds the JPEG / PNG
    incomplete. The only extra work over the stock loader is that
    structural check (a few byte searches, about 1 us per file); its cost
    is measured by ``benchmarks/load_image.py``. ``LTListDataset`` adds the
    list file and line to the message.

    Args:
        **kwargs: Arguments of :class:`mmcv.transforms.LoadImageFromFile`
            (``to_float32``, ``color_type``, ``imdecode_backend``,
            ``backend_args``). ``ignore_empty`` is refused: skipping images
            silently is what this transform exists to prevent.
    """

    def __init__(self, **kwargs) -> None:
        if kwargs.get('ignore_empty', False):
            raise ValueError('LoadImageFromFileChecked does not skip images: '
                             'ignore_empty=True is not allowed')
        super().__init__(**kwargs)

    def transform(self, results: dict) -> Optional[dict]:
        """Load the image, raising :class:`CorruptImageError` if broken."""
        filename = results['img_path']
        try:
            img_bytes = fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'image file {filename} does not exist') \
                from e
        if len(img_bytes) == 0:
            raise CorruptImageError(f'image file {filename} is empty')
        reason = truncation_reason(img_bytes)
        if reason is not None:
            raise CorruptImageError(
                f'cannot decode image file {filename}: {reason}')
        try:
            img = mmcv.imfrombytes(
                img_bytes, flag=self.color_type,
                backend=self.imdecode_backend)
        except Exception as e:  # pillow raises on truncated / bad data
            raise CorruptImageError(
                f'cannot decode image file {filename} with '
                f'{self.imdecode_backend}: {type(e).__name__}: {e}') from e
        if img is None:
            raise CorruptImageError(
                f'cannot decode image file {filename} with '
                f'{self.imdecode_backend} (not an image, or a corrupt one)')
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results
