# Copyright (c) ltplug contributors. All rights reserved.
"""Verification of an exported model against the original.

:func:`check_fits` refuses a checkpoint that does not fit the source model,
:func:`random_test_batch` runs random images through the test pipeline, and
:func:`compare_models` gives the max abs differences of both models' test
outputs on that batch (used by :func:`ltplug.apis.export_model`).
"""
import copy
from typing import Dict, List

import numpy as np
import torch
import torch.nn as nn

from ltplug.utils.strict_load import compare_state_dicts

__all__ = ['check_fits', 'random_test_batch', 'compare_models']


def check_fits(model: nn.Module, state: dict, checkpoint: str,
               config: str) -> None:
    """Refuse a checkpoint whose state dict does not fit ``model`` exactly.

    Args:
        model (nn.Module): The source model.
        state (dict): The checkpoint's state dict.
        checkpoint (str): The file (named in the message).
        config (str): The config file (named in the message).

    Raises:
        ValueError: If keys are missing, unexpected or mis-shaped.
    """
    mismatch = compare_state_dicts(model.state_dict(), state)
    missing, unexpected = mismatch.missing, mismatch.unexpected
    bad = [f'{k}: {a} in the file, {b} in the model'
           for k, a, b in mismatch.mis_shaped]
    if missing or unexpected or bad:
        raise ValueError(
            f'checkpoint "{checkpoint}" does not fit config "{config}": '
            f'{len(missing)} missing key(s) {missing[:6]}, '
            f'{len(unexpected)} unexpected key(s) {unexpected[:6]}, '
            f'{len(bad)} shape mismatch(es) {bad[:3]}')


def _sample_image(pipeline: List[dict], channels: int,
                  seed: int) -> np.ndarray:
    """A random uint8 image of the size of the pipeline's CenterCrop."""
    size = 32
    for t in pipeline:
        if str(t.get('type', '')).split('.')[-1] == 'CenterCrop':
            crop = t.get('crop_size', size)
            size = int(crop if isinstance(crop, int) else max(crop))
    rng = np.random.default_rng(seed)
    shape = (size, size) if channels == 1 else (size, size, 3)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def random_test_batch(cfg: dict, model: nn.Module, batch_size: int,
                      seed: int) -> dict:
    """A batch of random images through the test pipeline (image loading
    removed, as in MMPretrain's inferencer).

    Args:
        cfg (dict): The inference config (its ``test_pipeline``).
        model (nn.Module): The model (its data preprocessor gives the
            number of channels).
        batch_size (int): Number of images.
        seed (int): Seed of the first image (``seed + i`` for image i).

    Returns:
        dict: The collated batch (``inputs``, ``data_samples``).
    """
    from mmengine.dataset import Compose, default_collate
    from mmpretrain.datasets import remove_transform
    from mmpretrain.registry import TRANSFORMS
    pipeline = remove_transform(
        copy.deepcopy(cfg.get('test_pipeline') or [dict(type='PackInputs')]),
        'LoadImageFromFile')
    pre = model.data_preprocessor
    channels = 3
    if getattr(pre, '_enable_normalize', False):
        channels = int(pre.mean.numel())
    compose = Compose([TRANSFORMS.build(t) for t in pipeline])
    items = []
    for i in range(batch_size):
        img = _sample_image(pipeline, channels, seed + i)
        items.append(
            compose(dict(img=img, img_shape=img.shape[:2],
                         ori_shape=img.shape[:2])))
    return default_collate(items)


@torch.no_grad()
def compare_models(source: nn.Module, exported: nn.Module, data: dict
                   ) -> Dict[str, float]:
    """Max abs differences of two models in test mode on one batch.

    Args:
        source (nn.Module): The original model (eval mode).
        exported (nn.Module): The exported model (eval mode).
        data (dict): A collated batch (``inputs``, ``data_samples``).

    Returns:
        dict[str, float]: ``logits`` (``mode='tensor'`` outputs) and
        ``pred_score`` (``test_step`` scores) max abs differences.
    """
    source.eval()
    exported.eval()
    a_in = source.data_preprocessor(copy.deepcopy(data), False)['inputs']
    b_in = exported.data_preprocessor(copy.deepcopy(data), False)['inputs']
    a = source(a_in, mode='tensor')
    b = exported(b_in, mode='tensor')
    if tuple(a.shape) != tuple(b.shape):
        raise RuntimeError(f'the exported model gives logits of shape '
                           f'{tuple(b.shape)}, the source {tuple(a.shape)}')
    sa = torch.stack(
        [d.pred_score for d in source.test_step(copy.deepcopy(data))])
    sb = torch.stack(
        [d.pred_score for d in exported.test_step(copy.deepcopy(data))])
    return dict(
        logits=float((a.float() - b.float()).abs().max()),
        pred_score=float((sa.float() - sb.float()).abs().max()))
