# Copyright (c) ltplug contributors. All rights reserved.
"""Build a frozen model (a distillation teacher) from its config and a
checkpoint, and check at build time that the checkpoint fits it."""
import copy
import os.path as osp
from collections import OrderedDict
from typing import Optional, Union

import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmpretrain.registry import MODELS

from ltplug.utils.checkpoint import load_checkpoint_safely
from ltplug.utils.strict_load import (CheckpointMismatchError,
                                      compare_state_dicts, mismatch_message)

__all__ = [
    'build_frozen_model', 'set_requires_grad', 'teacher_model_cfg',
    'norm_signature', 'drop_prefixed_keys'
]


def set_requires_grad(module: nn.Module, flag: bool) -> None:
    """Set ``requires_grad`` of every parameter of ``module``."""
    for p in module.parameters():
        p.requires_grad_(flag)


def teacher_model_cfg(config: Union[str, dict], name: str) -> dict:
    """The model config of a teacher, as a Runner would build it.

    Args:
        config (str | dict): A config file (its ``model``, with the file's
            top-level ``data_preprocessor`` merged in as the Runner does) or
            a model config dict.
        name (str): The teacher's name, used in error messages.

    Returns:
        dict: A deep copy, safe to modify.
    """
    if isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(
                f'{name}: config file "{config}" does not exist')
        cfg = Config.fromfile(config)
        if 'model' not in cfg:
            raise KeyError(f'{name}: config "{config}" has no `model`')
        model = copy.deepcopy(cfg.model)
        if cfg.get('data_preprocessor') is not None:
            model.setdefault('data_preprocessor', cfg.data_preprocessor)
        return model
    if isinstance(config, (dict, ConfigDict)):
        return copy.deepcopy(config)
    raise TypeError(f'{name}: config must be a path or a dict, but got '
                    f'{type(config).__name__}')


def norm_signature(preprocessor: nn.Module) -> tuple:
    """What a data preprocessor does to pixel values: ``(normalises, mean,
    std, converts channels)``, for comparing a teacher's with a student's."""
    enabled = bool(getattr(preprocessor, '_enable_normalize', False))
    mean = std = None
    if enabled:
        mean = [round(float(v), 6) for v in preprocessor.mean.flatten()]
        std = [round(float(v), 6) for v in preprocessor.std.flatten()]
    # MMEngine's ImgDataPreprocessor (and MMPretrain's SelfSup one) keep
    # the flag as ``_channel_conversion``, MMPretrain's ClsDataPreprocessor
    # as ``to_rgb``
    to_rgb = bool(getattr(preprocessor, '_channel_conversion', False)
                  or getattr(preprocessor, 'to_rgb', False))
    return enabled, mean, std, to_rgb


def drop_prefixed_keys(state_dict: dict, prefix: str) -> dict:
    """Remove every key under ``prefix`` (and its ``_metadata`` entries)
    from ``state_dict`` in place, e.g. a teacher's from a student's
    checkpoint; returns it (a ``state_dict`` post-hook's contract)."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        del state_dict[key]
    if hasattr(state_dict, '_metadata'):
        for key in [k for k in state_dict._metadata
                    if (k + '.').startswith(prefix)]:
            del state_dict._metadata[key]
    return state_dict


def _head_classes(model: nn.Module) -> Optional[int]:
    head = getattr(model, 'head', None)
    return getattr(head, 'num_classes', None)


def build_frozen_model(config: Union[str, dict],
                       checkpoint: Optional[str],
                       name: str = 'teacher',
                       num_classes: Optional[int] = None,
                       strict: bool = True) -> nn.Module:
    """Build a model from its config, load a checkpoint and freeze it.

    Everything is checked before any training step: the config and the
    checkpoint must exist and be readable (an empty, truncated or non-torch
    file raises :class:`~ltplug.utils.CheckpointReadError`), every key of
    the model must be in the checkpoint with the same shape (and, with
    ``strict``, no extra key; else
    :class:`~ltplug.utils.CheckpointMismatchError`), and the model must
    classify ``num_classes`` classes. Each error names ``name``, the file,
    the config file and the first keys that do not fit.

    The model is initialised (``init_weights``) before loading, so a later
    ``init_weights`` of a parent module (the Runner's) skips it and does not
    overwrite the loaded weights. All parameters get
    ``requires_grad=False``; the train / eval mode is left to the caller.

    Args:
        config (str | dict): A config file (its ``model`` is used) or a
            model config dict.
        checkpoint (str, optional): Checkpoint path; None keeps the
            initialisation (only for tests).
        name (str): Name used in messages. Defaults to 'teacher'.
        num_classes (int, optional): Expected number of classes of the
            model's head. Defaults to None (not checked).
        strict (bool): Refuse checkpoint keys the model does not have.
            Defaults to True.

    Returns:
        nn.Module: The frozen model.
    """
    model = MODELS.build(teacher_model_cfg(config, name))
    if hasattr(model, 'init_weights'):
        model.init_weights()
    if num_classes is not None:
        got = _head_classes(model)
        if got is not None and got != num_classes:
            raise ValueError(
                f'{name}: its config classifies {got} classes, but '
                f'{num_classes} are expected')
    if checkpoint is not None:
        ckpt = load_checkpoint_safely(
            checkpoint, map_location='cpu', owner=name)
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) \
            else None
        if not isinstance(state, dict):
            raise ValueError(
                f'{name}: checkpoint "{checkpoint}" holds no state_dict '
                f'(it holds a {type(ckpt).__name__})')
        state = OrderedDict(
            (k[7:] if k.startswith('module.') else k, v)
            for k, v in state.items())
        mismatch = compare_state_dicts(model.state_dict(), state)
        if not strict:
            mismatch.unexpected = []
        if mismatch:
            raise CheckpointMismatchError(
                mismatch_message(
                    mismatch,
                    checkpoint,
                    config if isinstance(config, str) else None,
                    owner=name,
                    hint='A teacher must be the model of its config (a '
                    'different number of classes or architecture?)',
                    one_line=True), mismatch)
        model.load_state_dict(state, strict=strict)
    set_requires_grad(model, False)
    return model
