# Copyright (c) ltplug contributors. All rights reserved.
from .load_image_from_file_checked import (CorruptImageError,
                                           LoadImageFromFileChecked)

__all__ = ['CorruptImageError', 'LoadImageFromFileChecked']
