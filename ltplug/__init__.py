# Copyright (c) ltplug contributors. All rights reserved.
"""ltplug: long-tailed visual recognition (SSD, CBD, NCL and the classic
baselines) as components of MMPretrain's registries.

``import ltplug`` (or ``custom_imports=dict(imports=['ltplug'])`` in a
config) registers every component into MMPretrain's own registry nodes and
installs the stack fixes and guards of the table in
:mod:`ltplug.utils.compat` (none with ``LTPLUG_NO_PATCHES=1``).
"""
import warnings

warnings.filterwarnings(
    "ignore", message=".*MultiScaleDeformableAttention.*")

import mmpretrain  # noqa: E402,F401  (version checks of mmcv / mmengine)

from .utils import setup_compat  # noqa: E402
from .version import __version__  # noqa: E402

setup_compat()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__', 'datasets', 'engine', 'evaluation', 'models']
