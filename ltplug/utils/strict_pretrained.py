# Copyright (c) ltplug contributors. All rights reserved.
"""Strict ``init_cfg=dict(type='Pretrained', ...)`` (issue 18.1).

MMEngine's :class:`mmengine.model.weight_init.PretrainedInit` loads with
``strict=False`` and only logs what does not fit: a cRT / LWS stage two
given the stage-one checkpoint of another depth, or a head of another class
count, trains on a half-initialised module without a word that stops it.

:func:`patch_pretrained_init_strict` makes ``Pretrained`` refuse a file that
does not fit the module it initialises. After the ``prefix`` is selected
(if any), every key of the module must be in the file with the module's
shape, and the file must hold no other key; otherwise a
:class:`~ltplug.utils.strict_load.CheckpointMismatchError` names the file,
the prefix, the module (``backbone``, ``backbones.0``, ``head``) and lists
the first missing, unexpected and mis-shaped keys.

Legitimate partial loads are written in the ``init_cfg`` and logged:

- ``allow_missing=['scales']``: module keys (or key prefixes ending in
  ``'.'``) that the file may lack; they keep their initialisation (LWS's
  per-class scales, which a stage-one checkpoint cannot have);
- ``allow_unexpected=['fc.']``: file keys that are not loaded (a
  torchvision ImageNet checkpoint's classifier for a backbone);
- ``strict=False``: load whatever fits (MMEngine's behaviour), with a
  warning that lists what was not loaded.

A mis-shaped key is never allowed by ``allow_missing`` /
``allow_unexpected``. Each option is checked for type, e.g.
``strict='False'`` is refused.
"""
import logging
import re
from collections import OrderedDict
from typing import Any, List, Mapping, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.logging import print_log

from .strict_load import (CheckpointMismatchError, StateDictMismatch,
                          load_state_dict_checked)

__all__ = ['patch_pretrained_init_strict', 'PRETRAINED_HINT']

#: The last line of the error: how to say that a partial load is meant.
PRETRAINED_HINT = (
    'If only part of the file is meant to be loaded, say so in this '
    "init_cfg: allow_missing=['key', 'prefix.'] (module keys that keep their "
    "initialisation), allow_unexpected=['prefix.'] (file keys not loaded) "
    'or strict=False (load what fits); what is not loaded is then logged.')

#: How many of the file's key stems an error about a prefix lists.
SHOW_STEMS = 8


def _key_list(name: str, value: Any) -> Tuple[str, ...]:
    """A ``str`` or a list / tuple of ``str`` -> a tuple of keys."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value, )
    if isinstance(value, (list, tuple)) and all(
            isinstance(v, str) and v for v in value):
        return tuple(value)
    raise TypeError(f'Pretrained: {name} must be a list of keys or key '
                    "prefixes (str, a prefix ends with '.'), but got "
                    f'{value!r} ({type(value).__name__})')


def _matches(key: str, patterns: Sequence[str]) -> bool:
    """Whether ``key`` is one of ``patterns`` or lies under one that ends
    with ``'.'``."""
    return any(key == p or (p.endswith('.') and key.startswith(p))
               for p in patterns)


def _module_name(module: nn.Module) -> str:
    """``module "backbone" (ResNet)``, as named in the model being
    initialised (see :func:`_tag_module_names`)."""
    name = getattr(module, '_ltplug_init_name', None)
    kind = type(module).__name__
    if name is None:
        return f'module {kind}'
    if name == '':
        return f'the model ({kind})'
    return f'module "{name}" ({kind})'


def _stems(keys: Sequence[str]) -> str:
    """The first components of ``keys`` (``backbone., head.``)."""
    seen: List[str] = []
    for key in keys:
        stem = key.split('.', 1)[0] + ('.' if '.' in key else '')
        if stem not in seen:
            seen.append(stem)
    more = f', ... ({len(seen) - SHOW_STEMS} more)' \
        if len(seen) > SHOW_STEMS else ''
    return ', '.join(seen[:SHOW_STEMS]) + more


def _file_state_dict(checkpoint: str, map_location: Any, prefix: Optional[str],
                     where: str) -> Mapping:
    """The file's state dict, restricted to ``prefix`` (stripped)."""
    from mmengine.runner.checkpoint import _load_checkpoint
    loaded = _load_checkpoint(checkpoint, map_location=map_location)
    if not isinstance(loaded, dict):
        raise ValueError(
            f'Pretrained: checkpoint "{checkpoint}" for {where} holds a '
            f'{type(loaded).__name__}, not a dict with a state_dict')
    state_dict = loaded.get('state_dict', loaded)
    if not isinstance(state_dict, Mapping):
        raise ValueError(
            f'Pretrained: checkpoint "{checkpoint}" for {where}: its '
            f'state_dict is a {type(state_dict).__name__}, not a dict')
    metadata = getattr(state_dict, '_metadata', None)
    if prefix is None:
        # as mmengine.runner.load_checkpoint: drop DataParallel's 'module.'
        out = OrderedDict(
            (re.sub(r'^module\.', '', k), v) for k, v in state_dict.items())
        if metadata is not None:
            out._metadata = OrderedDict(
                (re.sub(r'^module\.?', '', k), v) for k, v in metadata.items())
        return out
    out = OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                      if k.startswith(prefix))
    if not out:
        mismatch = StateDictMismatch(other=[f'no key under {prefix!r}'])
        raise CheckpointMismatchError(
            f'Pretrained: checkpoint "{checkpoint}" has no key under prefix '
            f'{prefix!r} for {where}; its keys start with: '
            f'{_stems(list(state_dict)) or "(none: it is empty)"}', mismatch)
    if metadata is not None:
        out._metadata = OrderedDict(
            (k[len(prefix):], v) for k, v in metadata.items()
            if k.startswith(prefix) or k + '.' == prefix)
    return out


def _strict_call(self, module: nn.Module) -> None:
    """Load ``self.checkpoint`` into ``module``; refuse a file that does not
    fit (see the module docstring)."""
    from mmengine.model.weight_init import update_init_info
    where = _module_name(module)
    under = f' (prefix {self.prefix!r})' if self.prefix else ''
    print_log(
        f'load {self.prefix or "model"} in {where} from: '
        f'{self.checkpoint}',
        logger='current')
    prefix = self.prefix
    if prefix is not None and not prefix.endswith('.'):
        prefix += '.'
    state_dict = _file_state_dict(self.checkpoint, self.map_location, prefix,
                                  where)
    mismatch = load_state_dict_checked(module, state_dict)
    allowed = StateDictMismatch(missing=[
        k for k in mismatch.missing if _matches(k, self.allow_missing)
    ],
                                unexpected=[
                                    k for k in mismatch.unexpected
                                    if _matches(k, self.allow_unexpected)
                                ])
    mismatch.missing = [
        k for k in mismatch.missing if k not in allowed.missing
    ]
    mismatch.unexpected = [
        k for k in mismatch.unexpected if k not in allowed.unexpected
    ]
    head = f'Pretrained: checkpoint "{self.checkpoint}"{under}'
    if mismatch and self.strict:
        raise CheckpointMismatchError(
            '\n'.join([f'{head} does not fit {where}:'] +
                      ['  ' + line
                       for line in mismatch.lines()] + [PRETRAINED_HINT]),
            mismatch)
    if mismatch:
        print_log('\n'.join([
            f'{head} does not fully fit {where} (strict=False: '
            f'{mismatch.num_loaded} tensors loaded, the keys '
            'below keep their initialisation or are not '
            'loaded):'
        ] + ['  ' + line for line in mismatch.lines()]),
                  logger='current',
                  level=logging.WARNING)
    if allowed:
        print_log('\n'.join([
            f'{head} into {where}: not loaded, as allowed by '
            'allow_missing / allow_unexpected:'
        ] + ['  ' + line for line in allowed.lines()]),
                  logger='current',
                  level=logging.INFO)
    if hasattr(module, '_params_init_info'):
        update_init_info(module, init_info=self._get_init_info())


def _tag_module_names(model: nn.Module) -> None:
    """Write each sub-module's name in ``model`` on it, so that an error of
    ``Pretrained`` names ``backbones.0`` rather than ``ResNet``."""
    for name, sub in model.named_modules():
        sub._ltplug_init_name = name


def patch_pretrained_init_strict() -> None:
    """Make MMEngine's ``Pretrained`` init strict (idempotent).

    ``PretrainedInit`` gains ``strict=True``, ``allow_missing=()`` and
    ``allow_unexpected=()`` (see the module docstring); the top-level
    module's :meth:`BaseModule.init_weights` first writes every
    sub-module's name on it for the messages.
    """
    from mmengine.model import BaseModule
    from mmengine.model.weight_init import PretrainedInit

    from .validate import check_bool

    if getattr(PretrainedInit.__call__, '_ltplug_strict', False):
        return

    def __init__(
        self,
        checkpoint: str,
        prefix: Optional[str] = None,
        map_location: Any = 'cpu',
        strict: bool = True,
        allow_missing: Sequence[str] = (),
        allow_unexpected: Sequence[str] = ()
    ) -> None:
        """Strict ``Pretrained`` (see :mod:`ltplug.utils.strict_pretrained`).

        Args:
            checkpoint (str): The file or URL.
            prefix (str, optional): Load the file's keys under this prefix
                (stripped), e.g. ``'backbone.'``. Defaults to None (all).
            map_location (str): As :func:`torch.load`. Defaults to 'cpu'.
            strict (bool): Refuse a file that does not fit the module.
                Defaults to True.
            allow_missing (list[str]): Module keys (or prefixes ending in
                ``'.'``) the file may lack. Defaults to ().
            allow_unexpected (list[str]): File keys (after ``prefix``, or
                prefixes ending in ``'.'``) that are not loaded.
                Defaults to ().
        """
        if not isinstance(checkpoint, str) or not checkpoint:
            raise TypeError('Pretrained: checkpoint must be a file name or '
                            f'URL (str), but got {checkpoint!r} '
                            f'({type(checkpoint).__name__})')
        if prefix is not None and (not isinstance(prefix, str)
                                   or not prefix.strip('.')):
            raise TypeError('Pretrained: prefix must be None or a key '
                            "prefix such as 'backbone.', but got "
                            f'{prefix!r} ({type(prefix).__name__})')
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.map_location = map_location
        self.strict = check_bool('strict', strict, owner='Pretrained')
        self.allow_missing = _key_list('allow_missing', allow_missing)
        self.allow_unexpected = _key_list('allow_unexpected', allow_unexpected)

    original_init_weights = BaseModule.init_weights

    def init_weights(self) -> None:
        if not hasattr(self, '_params_init_info'):
            _tag_module_names(self)
        return original_init_weights(self)

    _strict_call._ltplug_strict = True
    init_weights.__doc__ = original_init_weights.__doc__
    PretrainedInit.__init__ = __init__
    PretrainedInit.__call__ = _strict_call
    BaseModule.init_weights = init_weights
