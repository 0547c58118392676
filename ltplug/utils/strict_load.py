# Copyright (c) ltplug contributors. All rights reserved.
"""Strict checkpoint loading for ``load_from``, ``--resume`` and
``tools/test.py``.

MMEngine's :meth:`Runner.load_checkpoint` loads with ``strict=False``: a
checkpoint of another architecture (ResNet-20 weights in a ResNet-32 config)
or with a head of another size is only logged as "missing keys" or "size
mismatch", and training or testing goes on with a half-loaded model.

:func:`patch_runner_strict_load` makes the Runner refuse a checkpoint that
does not fit the model (missing, unexpected or mis-shaped keys) with a
:class:`CheckpointMismatchError` that names the file and the config and lists
the first keys of each kind. Partial loading stays possible where it is
meant, and is then logged key by key:

- ``allow_partial_load = True`` in the config (``--allow-partial`` in
  ``tools/train.py`` / ``tools/test.py``) for ``load_from``, e.g.
  fine-tuning from a backbone-only checkpoint;
- an explicit ``runner.load_checkpoint(path, strict=False)``;
- ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``
  is strict too (:mod:`ltplug.utils.strict_pretrained`): the prefix's keys
  must fit the one sub-module; ``allow_missing`` / ``allow_unexpected`` /
  ``strict=False`` in that init_cfg allow a partial load, which is logged.

Resuming is always strict: a resumed run continues the same model.
"""
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, List, Mapping, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.logging import print_log

__all__ = [
    'CheckpointMismatchError', 'StateDictMismatch', 'compare_state_dicts',
    'mismatch_message', 'load_state_dict_checked', 'patch_runner_strict_load',
    'PARTIAL_HINT'
]

#: How many keys of each kind a message lists.
SHOW_KEYS = 5

PARTIAL_HINT = ('To load only what fits, set `allow_partial_load = True` in '
                'the config (tools/train.py, tools/test.py: --allow-partial); '
                'what is not loaded is then logged.')

_SIZE_MISMATCH = re.compile(
    r'size mismatch for (\S+): copying a param with shape (.+?) from '
    r'checkpoint, the shape in current model is (.+?)\.$', re.S)


class CheckpointMismatchError(ValueError):
    """Raised for a checkpoint whose keys do not fit the model.

    Args:
        message (str): The message (it names the file and the config).
        mismatch (StateDictMismatch): The keys that do not fit.
    """

    def __init__(self, message: str, mismatch: 'StateDictMismatch') -> None:
        super().__init__(message)
        self.mismatch = mismatch


@dataclass
class StateDictMismatch:
    """The keys of a checkpoint that do not fit a model.

    Args:
        missing (list[str]): In the model, not in the checkpoint.
        unexpected (list[str]): In the checkpoint, not in the model.
        mis_shaped (list[tuple]): ``(key, shape in the file, shape in the
            model)``.
        other (list[str]): Other load errors reported by torch.
        num_loaded (int): Tensors the model got from the file.
            Defaults to 0.
    """
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mis_shaped: List[Tuple[str, tuple, tuple]] = field(default_factory=list)
    other: List[str] = field(default_factory=list)
    num_loaded: int = 0

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.mis_shaped
                    or self.other)

    def lines(self, show: int = SHOW_KEYS) -> List[str]:
        """One line per kind of mismatch, with its first ``show`` keys."""

        def first(keys: Sequence[str]) -> str:
            more = f', ... ({len(keys) - show} more)' \
                if len(keys) > show else ''
            return ', '.join(keys[:show]) + more

        out = []
        if self.missing:
            out.append(f'{len(self.missing)} missing key(s) (in the model, '
                       f'not in the file): {first(self.missing)}')
        if self.unexpected:
            out.append(f'{len(self.unexpected)} unexpected key(s) (in the '
                       f'file, not in the model): {first(self.unexpected)}')
        if self.mis_shaped:
            shaped = [f'{k} {tuple(a)} in the file, {tuple(b)} in the model'
                      for k, a, b in self.mis_shaped]
            out.append(f'{len(self.mis_shaped)} mis-shaped key(s): '
                       f'{first(shaped)}')
        if self.other:
            out.append(f'other errors: {first(self.other)}')
        return out


def compare_state_dicts(own: Mapping, given: Mapping,
                        ignore_missing: Callable[[str], bool] = None
                        ) -> StateDictMismatch:
    """Compare a model's ``state_dict()`` with a checkpoint's, without
    loading anything.

    Args:
        own (Mapping): The model's state dict.
        given (Mapping): The checkpoint's state dict.
        ignore_missing (callable, optional): Missing keys for which it
            returns True are not reported. Defaults to None.

    Returns:
        StateDictMismatch: The keys that do not fit.
    """
    missing = [
        k for k in own
        if k not in given and not (ignore_missing and ignore_missing(k))
    ]
    unexpected = [k for k in given if k not in own]
    shaped = [(k, tuple(given[k].shape), tuple(own[k].shape)) for k in own
              if k in given and hasattr(given[k], 'shape')
              and tuple(given[k].shape) != tuple(own[k].shape)]
    loaded = sum(1 for k in own if k in given) - len(shaped)
    return StateDictMismatch(missing, unexpected, shaped, num_loaded=loaded)


def mismatch_message(mismatch: StateDictMismatch,
                     checkpoint: str,
                     config: Optional[str] = None,
                     owner: Optional[str] = None,
                     hint: Optional[str] = PARTIAL_HINT,
                     fits: str = 'does not fit',
                     one_line: bool = False) -> str:
    """The error message for a checkpoint that does not fit.

    Args:
        mismatch (StateDictMismatch): What does not fit.
        checkpoint (str): The checkpoint file.
        config (str, optional): What the model was built from (a config
            file, or e.g. ``'model.init_checkpoint'``). Defaults to None.
        owner (str, optional): Who loads it (e.g. a teacher's name); the
            message starts with it. Defaults to None.
        hint (str, optional): The last line. Defaults to
            :data:`PARTIAL_HINT`.
        fits (str): The verb of the first line. Defaults to
            'does not fit'.
        one_line (bool): Join the parts with ``'; '`` instead of new lines.
            Defaults to False.

    Returns:
        str: The message.
    """
    head = f'{owner}: ' if owner else ''
    of = f' of config "{config}"' if config else ''
    first = f'{head}checkpoint "{checkpoint}" {fits} the model{of}:'
    if one_line:
        text = f'{first} ' + '; '.join(mismatch.lines())
        return f'{text}. {hint}' if hint else text
    lines = [first] + ['  ' + line for line in mismatch.lines()]
    if hint:
        lines.append(hint)
    return '\n'.join(lines)


def _num_batches_tracked(key: str) -> bool:
    return key.endswith('num_batches_tracked')


def load_state_dict_checked(module: nn.Module, state_dict: Mapping
                            ) -> StateDictMismatch:
    """Load ``state_dict`` into ``module`` as far as it fits, and return
    what did not.

    The traversal is MMEngine's :func:`mmengine.runner.load_state_dict`
    (model wrappers and TTA models are unwrapped, load hooks run, e.g. a
    distiller's that fills its teachers' keys), so exactly what MMEngine
    would load is loaded. A missing ``num_batches_tracked`` is not reported
    (as in MMEngine).

    Args:
        module (nn.Module): The model.
        state_dict (Mapping): The checkpoint's state dict.

    Returns:
        StateDictMismatch: What was not loaded.
    """
    from mmengine.model import BaseTTAModel, is_model_wrapper
    missing: List[str] = []
    unexpected: List[str] = []
    errors: List[str] = []
    metadata = getattr(state_dict, '_metadata', None)
    state_dict = OrderedDict(state_dict)
    if metadata is not None:
        state_dict._metadata = metadata

    def load(mod, local_state_dict, prefix=''):
        if is_model_wrapper(mod) or isinstance(mod, BaseTTAModel):
            mod = mod.module
        local_metadata = {} if metadata is None else metadata.get(
            prefix[:-1], {})
        mod._load_from_state_dict(local_state_dict, prefix, local_metadata,
                                  True, missing, unexpected, errors)
        for name, child in mod._modules.items():
            if child is not None:
                child_prefix = prefix + name + '.'
                load(child, {
                    k: v
                    for k, v in local_state_dict.items()
                    if k.startswith(child_prefix)
                }, child_prefix)

    load(module, state_dict)
    load = None  # break the load->load reference cycle
    result = StateDictMismatch(
        missing=[k for k in missing if not _num_batches_tracked(k)],
        unexpected=list(unexpected))
    for msg in errors:
        m = _SIZE_MISMATCH.match(str(msg).strip())
        if m:
            key, a, b = m.groups()
            result.mis_shaped.append(
                (key, _shape(a), _shape(b)))
        else:
            result.other.append(str(msg).strip())
    bad = set(result.unexpected) | {k for k, _, _ in result.mis_shaped}
    result.num_loaded = sum(1 for k in state_dict if k not in bad)
    return result


def _shape(text: str) -> tuple:
    """``'torch.Size([10, 64])'`` -> ``(10, 64)``."""
    nums = re.findall(r'\d+', text)
    return tuple(int(n) for n in nums)


def _revise(state_dict: Mapping, revise_keys: Sequence[Tuple[str, str]]
            ) -> OrderedDict:
    metadata = getattr(state_dict, '_metadata', OrderedDict())
    for p, r in revise_keys:
        state_dict = OrderedDict(
            (re.sub(p, r, k), v) for k, v in state_dict.items())
    state_dict._metadata = metadata
    return state_dict


def _config_name(runner) -> str:
    cfg = getattr(runner, 'cfg', None)
    filename = getattr(cfg, 'filename', None) if cfg is not None else None
    return filename or '(built in code, no config file)'


def _allow_partial(runner) -> bool:
    cfg = getattr(runner, 'cfg', None)
    value = cfg.get('allow_partial_load', False) if cfg is not None \
        else False
    if not isinstance(value, bool):
        raise TypeError('allow_partial_load must be True or False, but got '
                        f'{value!r} ({type(value).__name__})')
    return value


def patch_runner_strict_load() -> None:
    """Make :meth:`mmengine.runner.Runner.load_checkpoint` strict by default
    (idempotent).

    The patched method takes ``strict=None`` by default: strict, unless the
    config sets ``allow_partial_load = True`` (never while resuming). An
    explicit ``strict=False`` loads what fits. Both partial cases log the
    keys that were not loaded.
    """
    from mmengine.model import is_model_wrapper
    from mmengine.runner import Runner
    from mmengine.runner.checkpoint import _load_checkpoint

    if getattr(Runner.load_checkpoint, '_ltplug_strict', False):
        return
    original_resume = Runner.resume

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: Optional[bool] = None,
                        revise_keys: list = [(r'^module.', '')]):
        resuming = getattr(self, '_ltplug_resuming', False)
        if strict is None:
            strict = resuming or not _allow_partial(self)
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        if not isinstance(checkpoint, dict):
            raise ValueError(
                f'checkpoint "{filename}" holds a '
                f'{type(checkpoint).__name__}, not a dict with a state_dict')
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) \
            else self.model
        state_dict = checkpoint.get('state_dict', checkpoint)
        if not isinstance(state_dict, Mapping):
            raise ValueError(f'checkpoint "{filename}": its state_dict is a '
                             f'{type(state_dict).__name__}, not a dict')
        mismatch = load_state_dict_checked(model,
                                           _revise(state_dict, revise_keys))
        config = _config_name(self)
        if mismatch and strict:
            what = ('Resuming needs a checkpoint of the same model.'
                    if resuming else PARTIAL_HINT)
            raise CheckpointMismatchError(
                mismatch_message(mismatch, filename, config, hint=what),
                mismatch)
        if mismatch:
            print_log(
                mismatch_message(
                    mismatch, filename, config,
                    hint=f'Partial loading (allowed): {mismatch.num_loaded} '
                    'tensors loaded, the keys above keep their '
                    'initialisation.',
                    fits='does not fully fit'),
                logger='current',
                level=logging.WARNING)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def resume(self, filename: str, *args, **kwargs) -> None:
        self._ltplug_resuming = True
        try:
            return original_resume(self, filename, *args, **kwargs)
        finally:
            self._ltplug_resuming = False

    load_checkpoint.__doc__ = Runner.load_checkpoint.__doc__
    resume.__doc__ = original_resume.__doc__
    load_checkpoint._ltplug_strict = True
    Runner.load_checkpoint = load_checkpoint
    Runner.resume = resume
