# Copyright (c) ltplug contributors. All rights reserved.
from .apply_in_bgr import ApplyInBGR
from .clipped_cutout import ClippedCutout
from .distorted_bounding_box_crop import DistortedBoundingBoxCrop
from .load_image_from_file_checked import (CorruptImageError,
                                           LoadImageFromFileChecked)
from .load_jpeg_bytes import LoadJPEGBytes
from .timm_posterize import TimmPosterize

__all__ = [
    'ApplyInBGR', 'ClippedCutout', 'CorruptImageError',
    'DistortedBoundingBoxCrop', 'LoadImageFromFileChecked', 'LoadJPEGBytes',
    'TimmPosterize'
]
