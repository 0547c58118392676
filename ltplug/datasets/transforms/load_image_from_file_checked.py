# Copyright (c) ltplug contributors. All rights reserved.
import io
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmpretrain.registry import TRANSFORMS
from PIL import Image


class CorruptImageError(ValueError):
    """An image file that cannot be decoded completely."""


@TRANSFORMS.register_module()
class LoadImageFromFileChecked(LoadImageFromFile):
    """``LoadImageFromFile`` that refuses truncated or corrupt files.

    The stock transform reports an undecodable file only through an
    ``assert`` (gone under ``python -O``, after which the ``None`` image
    fails later with an unrelated error); with ``ignore_empty=True`` it
    returns None and the dataset silently re-fetches another image; and
    whether a truncated file decodes at all depends on the OpenCV build.
    This one first decodes the bytes completely with Pillow (which fails on
    truncated data) and raises :class:`CorruptImageError` naming the file,
    so a bad file is reported instead of being skipped or trained on.

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
        try:
            with Image.open(io.BytesIO(img_bytes)) as pil:
                pil.load()  # full decode: truncated data raises here
        except Exception as e:
            raise CorruptImageError(
                f'cannot decode image file {filename}: {e}') from e
        img = mmcv.imfrombytes(
            img_bytes, flag=self.color_type, backend=self.imdecode_backend)
        if img is None:
            raise CorruptImageError(f'cannot decode image file {filename}')
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results
