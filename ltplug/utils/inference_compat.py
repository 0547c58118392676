# Copyright (c) ltplug contributors. All rights reserved.
"""MMPretrain's ``ImageClassificationInferencer`` on ltplug configs.

The inferencer builds its pipeline from
``cfg.test_dataloader.dataset.pipeline``. Dataset wrappers keep the
pipeline one level down (ltplug's ``LongTailSubset``, MMEngine's
``ClassBalancedDataset`` / ``RepeatDataset`` / ``ConcatDataset``), so on
such a config the inferencer raised ``AttributeError: 'ConfigDict' object
has no attribute 'pipeline'``. :func:`patch_mmpretrain_inferencer` (installed
by ``import ltplug``, so by any config with ``custom_imports=['ltplug']``)
makes ``_init_pipeline`` look through the wrappers with
:func:`find_dataset_pipeline`; everything else is MMPretrain's own code
(``LoadImageFromFile`` removed, image read by ``mmcv.imread``); ltplug's
``LoadImageFromFileChecked`` is removed as well.

It also matches the image's channels to the model: the inferencer reads a
file as a 3-channel BGR image, which a 1-channel model (the Fashion-MNIST
configs) cannot take. When the model's data preprocessor normalises 1
channel, a 3-channel image is converted to grayscale (``mmcv.bgr2gray``);
when it normalises 3 channels, a grayscale ``(H, W)`` / ``(H, W, 1)`` image
is repeated to 3 channels. Other images are left untouched.
"""
import copy
from typing import Any, Callable, Optional

import numpy as np

__all__ = [
    'find_dataset_pipeline', 'MatchInputChannels',
    'patch_mmpretrain_inferencer', 'upstream_misses_wrapped_pipeline'
]

#: keys under which dataset wrappers keep the wrapped dataset(s)
WRAPPED_KEYS = ('dataset', 'datasets')
_MAX_DEPTH = 8


def find_dataset_pipeline(dataset_cfg: Any) -> Optional[list]:
    """The ``pipeline`` of a dataset config, looked for through wrappers.

    ``dataset_cfg['pipeline']`` if present, else that of
    ``dataset_cfg['dataset']`` (``LongTailSubset``, ``ClassBalancedDataset``,
    ``RepeatDataset``) or of ``dataset_cfg['datasets'][0]``
    (``ConcatDataset``), recursively.

    Args:
        dataset_cfg (dict): A dataset config.

    Returns:
        list | None: The pipeline config, or None when no level has one.
    """
    cfg = dataset_cfg
    for _ in range(_MAX_DEPTH):
        if not isinstance(cfg, dict):
            return None
        if cfg.get('pipeline') is not None:
            return cfg['pipeline']
        inner = None
        for key in WRAPPED_KEYS:
            value = cfg.get(key)
            if isinstance(value, (list, tuple)):
                value = value[0] if value else None
            if isinstance(value, dict):
                inner = value
                break
        if inner is None:
            return None
        cfg = inner
    return None


class MatchInputChannels:
    """Convert an image to the number of channels a model normalises.

    Args:
        channels (int): 1 or 3.
    """

    def __init__(self, channels: int) -> None:
        if channels not in (1, 3):
            raise ValueError(f'channels must be 1 or 3, but got {channels!r}')
        self.channels = channels

    def __call__(self, results: dict) -> dict:
        """Convert ``results['img']`` in place (a copy of the dict)."""
        import mmcv
        img = results.get('img')
        if not isinstance(img, np.ndarray):
            return results
        have = 1 if img.ndim == 2 else img.shape[-1]
        if have == self.channels:
            return results
        results = dict(results)
        if self.channels == 1 and have == 3:
            results['img'] = mmcv.bgr2gray(img)
        elif self.channels == 3 and have == 1:
            results['img'] = mmcv.gray2bgr(img.reshape(img.shape[:2]))
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(channels={self.channels})'


def _model_channels(model: Any) -> Optional[int]:
    """Channels the model's data preprocessor normalises (None: unknown)."""
    pre = getattr(model, 'data_preprocessor', None)
    if pre is None or not getattr(pre, '_enable_normalize', False):
        return None
    mean = getattr(pre, 'mean', None)
    if mean is None:
        return None
    n = int(mean.numel())
    return n if n in (1, 3) else None


def _is_checked_loader(transform: Any) -> bool:
    """Whether a transform config is ltplug's ``LoadImageFromFileChecked``."""
    return isinstance(transform, dict) and str(transform.get(
        'type', '')).split('.')[-1] == 'LoadImageFromFileChecked'


def upstream_misses_wrapped_pipeline() -> bool:
    """Whether MMPretrain's own ``_init_pipeline`` fails on a config whose
    test dataset is wrapped (the stand-down probe of
    :mod:`ltplug.utils.compat`).

    Returns:
        bool: True while MMPretrain needs the patch (1.2.x).
    """
    from mmengine.config import Config
    from mmpretrain.apis import ImageClassificationInferencer
    current = ImageClassificationInferencer._init_pipeline
    original = getattr(current, '__wrapped__', current)
    cfg = Config(
        dict(test_dataloader=dict(dataset=dict(
            type='RepeatDataset', times=1, dataset=dict(pipeline=[])))))
    try:
        original(None, cfg)
    except (AttributeError, KeyError, TypeError):
        return True
    return False


def patch_mmpretrain_inferencer() -> None:
    """Make ``ImageClassificationInferencer`` find the test pipeline inside
    dataset wrappers and match image channels to the model (idempotent)."""
    from mmengine.dataset import Compose
    from mmpretrain.apis import ImageClassificationInferencer

    current = ImageClassificationInferencer._init_pipeline
    if getattr(current, '_ltplug_patched', False):
        return
    original = current

    def _init_pipeline(self, cfg) -> Callable:
        dataset = cfg.test_dataloader.dataset
        pipeline = find_dataset_pipeline(dataset)
        if pipeline is None:
            raise KeyError(
                'ImageClassificationInferencer: the config\'s '
                'test_dataloader.dataset (type '
                f'{dataset.get("type")!r}) has no `pipeline`, nor does '
                'any dataset it wraps')
        # the inferencer reads the image itself and removes only
        # MMCV's LoadImageFromFile; ltplug's checked loader goes too
        kept = [t for t in pipeline if not _is_checked_loader(t)]
        if dataset.get('pipeline') is None or len(kept) != len(pipeline):
            cfg = copy.deepcopy(cfg)
            cfg.test_dataloader.dataset = dict(
                type=dataset.get('type'), pipeline=kept)
        pipeline = original(self, cfg)
        channels = _model_channels(getattr(self, 'model', None))
        if channels is not None:
            pipeline = Compose([MatchInputChannels(channels), pipeline])
        return pipeline

    _init_pipeline._ltplug_patched = True
    _init_pipeline.__wrapped__ = original
    ImageClassificationInferencer._init_pipeline = _init_pipeline
