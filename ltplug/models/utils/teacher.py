# Copyright (c) ltplug contributors. All rights reserved.
"""Build a frozen model (a distillation teacher) from its config and a
checkpoint, and check at build time that the checkpoint fits it; run it
without moving its BatchNorm statistics."""
import contextlib
import copy
import os.path as osp
from collections import OrderedDict
from typing import Any, Iterator, Optional, Sequence, Union

import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmpretrain.registry import MODELS

from ltplug.utils.checkpoint import load_state_dict_file
from ltplug.utils.strict_load import (CheckpointMismatchError,
                                      compare_state_dicts, mismatch_message)

__all__ = [
    'build_frozen_model', 'set_requires_grad', 'teacher_model_cfg',
    'norm_signature', 'drop_prefixed_keys', 'BN_MODES', 'check_bn_mode',
    'missing_teacher_file', 'read_fitting_state', 'untracked_bn'
]

#: how a frozen module's BatchNorm runs while its owner trains: ``'train'``
#: (batch statistics) or ``'eval'`` (its stored running statistics)
BN_MODES = ('train', 'eval')


def check_bn_mode(name: str, value: Any) -> str:
    """Return ``value`` if it is one of :data:`BN_MODES`.

    Args:
        name (str): The argument's name, used in the message.
        value: The given mode.

    Returns:
        str: ``value``.

    Raises:
        ValueError: Naming the argument and quoting the value.
    """
    if value not in BN_MODES:
        raise ValueError(f'{name} must be one of {BN_MODES}, '
                         f'but got {value!r}')
    return value


def missing_teacher_file(name: str, config: Any,
                         checkpoint: Any) -> Optional[str]:
    """The message for a teacher whose config or checkpoint file is absent.

    Args:
        name (str): The teacher's name, used in the message.
        config (str | dict): The teacher's config file or model dict (a
            dict needs no file).
        checkpoint (str): The teacher's checkpoint path.

    Returns:
        str | None: ``'<name>: config file "<path>" does not exist'`` (or
        ``checkpoint file``), or None when every file exists.
    """
    if isinstance(config, str) and not osp.isfile(config):
        return f'{name}: config file "{config}" does not exist'
    if isinstance(checkpoint, str) and not osp.isfile(checkpoint):
        return f'{name}: checkpoint file "{checkpoint}" does not exist'
    return None


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
    # as ``to_rgb``, ltplug's BatchAugDataPreprocessor as ``bgr_inputs``
    to_rgb = bool(getattr(preprocessor, '_channel_conversion', False)
                  or getattr(preprocessor, 'to_rgb', False)
                  or getattr(preprocessor, 'bgr_inputs', False))
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


def read_fitting_state(model: nn.Module,
                       checkpoint: str,
                       name: str,
                       hint: str,
                       prefixes: Optional[Sequence[str]] = None,
                       config: Optional[str] = None,
                       strict: bool = True) -> OrderedDict:
    """The state dict of ``checkpoint``, checked to fit ``model``.

    The file is read with :func:`~ltplug.utils.load_state_dict_file`
    (DataParallel's ``module.`` prefixes dropped). Every key of
    ``model.state_dict()`` must be in it with the same shape and, with
    ``strict``, it must hold no key the model lacks. With ``prefixes``,
    only the keys under them count on both sides (the rest of the file is
    the caller's to ignore).

    Args:
        model (nn.Module): The model the checkpoint is for.
        checkpoint (str): The checkpoint path.
        name (str): Who loads it; messages start with it.
        hint (str): The last sentence of a mismatch message.
        prefixes (Sequence[str], optional): Key prefixes that count.
            Defaults to None (every key).
        config (str, optional): The model's config file, named in the
            message. Defaults to None.
        strict (bool): Refuse keys the model does not have. Defaults to
            True.

    Returns:
        OrderedDict: The whole state dict of the file.

    Raises:
        FileNotFoundError: If ``checkpoint`` does not exist.
        CheckpointReadError: If it is empty, truncated or not a checkpoint.
        ValueError: If it holds no state dict.
        CheckpointMismatchError: If it does not fit.
    """
    state, _ = load_state_dict_file(checkpoint, owner=name)
    own, given = model.state_dict(), state
    if prefixes is not None:
        prefixes = tuple(prefixes)
        own = OrderedDict(
            (k, v) for k, v in own.items() if k.startswith(prefixes))
        given = OrderedDict(
            (k, v) for k, v in state.items() if k.startswith(prefixes))
    mismatch = compare_state_dicts(own, given)
    if not strict:
        mismatch.unexpected = []
    if mismatch:
        raise CheckpointMismatchError(
            mismatch_message(
                mismatch, checkpoint, config, owner=name, hint=hint,
                one_line=True), mismatch)
    return state


@contextlib.contextmanager
def untracked_bn(module: nn.Module) -> Iterator[nn.Module]:
    """Run ``module`` without changing its buffers.

    In train mode its BatchNorm layers normalise with the batch statistics
    but do not track them (``track_running_stats`` is switched off and
    back on, also when the forward raises), so neither the running
    statistics nor ``num_batches_tracked`` change: the same outputs as a
    tracked train-mode forward, without copying every BN buffer. Buffers
    of other modules, if any, are saved and restored. In eval mode nothing
    is switched or copied.

    Args:
        module (nn.Module): The frozen module.

    Yields:
        nn.Module: ``module``.
    """
    if not module.training:
        yield module
        return
    untracked = []
    bn_buffers = set()
    for sub in module.modules():
        if isinstance(sub, nn.modules.batchnorm._BatchNorm):
            bn_buffers.update(id(b) for b in sub.buffers(recurse=False))
            if sub.training and sub.track_running_stats:
                sub.track_running_stats = False
                untracked.append(sub)
    others = [(b, b.clone()) for b in module.buffers()
              if id(b) not in bn_buffers]
    try:
        yield module
    finally:
        for sub in untracked:
            sub.track_running_stats = True
        for buf, saved in others:
            buf.copy_(saved)


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
        state = read_fitting_state(
            model,
            checkpoint,
            name,
            config=config if isinstance(config, str) else None,
            strict=strict,
            hint='A teacher must be the model of its config (a different '
            'number of classes or architecture?)')
        model.load_state_dict(state, strict=strict)
    set_requires_grad(model, False)
    return model
