# Copyright (c) ltplug contributors. All rights reserved.
"""The teacher handling shared by the distillers (SSD stage III, CBD stage
2): frozen teachers built from config + checkpoint and checked, their BN
mode, and kept out of DDP, the optimizer and checkpoints."""
import logging
import os.path as osp
import warnings
from typing import Any, List, Optional

import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.logging import MMLogger, print_log
from mmpretrain.models.classifiers import ImageClassifier

from ltplug.models.utils.teacher import (build_frozen_model, check_bn_mode,
                                         drop_prefixed_keys,
                                         missing_teacher_file, norm_signature,
                                         teacher_model_cfg)
from ltplug.utils.validate import check_bool

__all__ = ['BaseDistiller', 'TEACHERS_PREFIX']

#: where the teachers live in the model (and in its state dict)
TEACHERS_PREFIX = 'teachers.'
SPEC_KEYS = ('config', 'checkpoint', 'name')


class BaseDistiller(ImageClassifier):
    """A student :class:`ImageClassifier` with frozen teachers (not
    registered: subclasses add the distillation loss).

    A subclass builds the student with ``super().__init__``, adds its own
    modules, then calls :meth:`_build_teachers` with the specs of
    :meth:`_teacher_specs` (the teachers come last in ``state_dict()`` and
    ``parameters()``, as before this base existed).

    Teachers: ``teachers`` is a list of dicts (a single dict is accepted)
    with ``config`` (a config file, whose ``model`` is used, or a model
    dict), ``checkpoint`` and optionally ``name`` (used in messages). Each
    is built and loaded once, at construction
    (:func:`~ltplug.models.utils.build_frozen_model`): a checkpoint that
    does not fit its config, a teacher classifying another number of
    classes than the student's head, or (``check_preprocessor``) a teacher
    whose data preprocessor normalises pixels differently raises there,
    naming the teacher. A teacher config's ``init_checkpoint`` is dropped
    (its checkpoint holds every weight) and its ``frozen_bn_mode``, if any,
    follows ``teacher_bn_mode``. Teachers live in ``self.teachers``
    (``teachers.<k>.`` keys), have ``requires_grad=False`` and keep their
    loaded weights through :meth:`init_weights`.

    Predict-only builds: with no teachers, or when a teacher's config or
    checkpoint file does not exist (a warning; ``missing_teachers`` holds
    the reason), the student is built without teachers: it predicts and
    tests with a student checkpoint alone. Training it raises (see
    :meth:`_check_trainable`; ``FileNotFoundError`` naming the files from
    :meth:`init_weights`, which the Runner calls before the first step).

    Teacher BN (``teacher_bn_mode``): ``'eval'`` keeps the teachers in eval
    mode whatever ``train()`` is called with; ``'train'`` lets them follow
    the student's mode (batch statistics), and the subclass runs them under
    :func:`~ltplug.models.utils.teacher.untracked_bn` so that their running
    statistics never change.

    DDP and checkpoints: the teachers' parameters and buffers are listed in
    ``_ddp_params_and_buffers_to_ignore``. By default (``save_teachers``
    False) they are left out of ``state_dict()``, and a loaded state dict
    without teacher keys leaves them as built.

    Args:
        backbone (dict): The student backbone config.
        head (dict): The student head config.
        neck (dict, optional): The student neck config. Defaults to None.
        teacher_bn_mode (str): ``'train'`` or ``'eval'``. Defaults to
            'eval'.
        save_teachers (bool): Keep the teachers in ``state_dict()``.
            Defaults to False.
        check_preprocessor (bool): Refuse a teacher whose data preprocessor
            normalises pixels differently from the student's. Defaults to
            True.
        **kwargs: The other arguments of ``ImageClassifier``:
            ``pretrained``, ``train_cfg``, ``data_preprocessor`` (the
            preprocessor of the batch the student and the teachers see)
            and ``init_cfg`` (the student's); each defaults to None.
    """

    #: the teachers' name in messages (``{k}``: the index)
    teacher_label = 'teacher {k}'
    #: the end of the error for a teacher named without checkpoint
    checkpoint_hint = 'train the teacher first'
    #: the teacher's key prefix in checkpoints of an earlier release,
    #: mapped onto ``teachers.0.`` when a state dict is loaded
    legacy_prefix: Optional[str] = None

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 teacher_bn_mode: str = 'eval',
                 save_teachers: bool = False,
                 check_preprocessor: bool = True,
                 **kwargs) -> None:
        owner = type(self).__name__
        teacher_bn_mode = check_bn_mode('teacher_bn_mode', teacher_bn_mode)
        save_teachers = check_bool('save_teachers', save_teachers,
                                   owner=owner)
        check_preprocessor = check_bool(
            'check_preprocessor', check_preprocessor, owner=owner)
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)
        self.teacher_bn_mode = teacher_bn_mode
        self.save_teachers = save_teachers
        self.check_preprocessor = check_preprocessor
        self.teacher_names: List[str] = []
        #: why the teachers were not built (missing files), raised by
        #: :meth:`init_weights` and the loss; None when built or absent
        self.missing_teachers: Optional[str] = None
        self._register_state_dict_hook(self._drop_teacher_keys)
        self.register_load_state_dict_pre_hook(self._fill_teacher_keys)

    # ------------------------------------------------------------ building
    @staticmethod
    def _teacher_specs(teachers: Any) -> list:
        """``teachers`` as a list (None: none; one dict: one teacher)."""
        if teachers is None:
            return []
        if isinstance(teachers, (dict, ConfigDict)):
            return [teachers]
        if not isinstance(teachers, (list, tuple)):
            raise TypeError('teachers must be a list of dicts, but got '
                            f'{type(teachers).__name__}')
        return list(teachers)

    @staticmethod
    def _renamed(old: str, new: str, owner: str) -> None:
        """Warn that argument ``old`` is deprecated for ``new``."""
        msg = (f'{owner}: `{old}` is deprecated and will be removed; use '
               f'`{new}`')
        warnings.warn(msg, DeprecationWarning, stacklevel=3)
        print_log(msg, logger='current', level=logging.WARNING)

    def _teacher_name(self, k: int, spec: Any) -> str:
        label = self.teacher_label.format(k=k)
        if not isinstance(spec, (dict, ConfigDict)):
            raise TypeError(f'{label} must be a dict with `config` and '
                            f'`checkpoint`, but got {spec!r}')
        if spec.get('name'):
            return f'{label} ("{spec["name"]}")'
        config = spec.get('config')
        if isinstance(config, str):
            return f'{label} ("{osp.basename(config)}")'
        return label

    def _check_spec(self, spec: dict, name: str) -> None:
        unknown = set(spec) - set(SPEC_KEYS)
        if unknown:
            raise KeyError(f'{name}: unknown key(s) {sorted(unknown)}; '
                           'expected config, checkpoint and name')
        if spec.get('config') is None:
            raise KeyError(f'{name}: no `config` given')
        checkpoint = spec.get('checkpoint')
        if not checkpoint:
            raise ValueError(f'{name}: no `checkpoint` given (got '
                             f'{checkpoint!r}); {self.checkpoint_hint}')

    def _build_teachers(self, specs: list) -> None:
        """Check every spec, then build the teachers (none when a file is
        missing) into ``self.teachers``."""
        owner = type(self).__name__
        names = [self._teacher_name(k, s) for k, s in enumerate(specs)]
        missing = []
        for spec, name in zip(specs, names):
            self._check_spec(spec, name)
            msg = missing_teacher_file(name, spec['config'],
                                       spec['checkpoint'])
            if msg is not None:
                missing.append(msg)
        logger = MMLogger.get_current_instance()
        if missing:
            self.missing_teachers = '; '.join(missing)
            logger.warning(f'{owner} built without its teachers '
                           f'({self.missing_teachers}): it can predict and '
                           'be tested, not trained')
            specs = []
        elif not specs:
            logger.warning(f'{owner} built without teachers: it can only '
                           'predict; training needs teachers')
        num_classes = getattr(self.head, 'num_classes', None)
        self.teachers = nn.ModuleList()
        for spec, name in zip(specs, names):
            self.teachers.append(self._build_teacher(spec, name, num_classes))
            self.teacher_names.append(name)
        if self.teacher_bn_mode == 'eval':
            self.teachers.eval()
        # DDP: teachers are identical on every rank (same files); never
        # broadcast or all-reduce their weights and BN buffers
        self._ddp_params_and_buffers_to_ignore = [
            TEACHERS_PREFIX + n for n, _ in self.teachers.named_parameters()
        ] + [TEACHERS_PREFIX + n for n, _ in self.teachers.named_buffers()]

    def _build_teacher(self, spec: dict, name: str,
                       num_classes: Optional[int]) -> nn.Module:
        model_cfg = teacher_model_cfg(spec['config'], name)
        if 'init_checkpoint' in model_cfg:
            # the previous stage's file is not needed: the teacher's own
            # checkpoint holds every weight
            model_cfg['init_checkpoint'] = None
        if 'frozen_bn_mode' in model_cfg:
            # one switch: the teacher's own BN mode follows
            model_cfg['frozen_bn_mode'] = self.teacher_bn_mode
        teacher = build_frozen_model(
            model_cfg, spec['checkpoint'], name=name, num_classes=num_classes)
        if self.check_preprocessor and hasattr(teacher, 'data_preprocessor'):
            mine = norm_signature(self.data_preprocessor)
            theirs = norm_signature(teacher.data_preprocessor)
            if mine != theirs:
                raise ValueError(
                    f'{name}: its data preprocessor (normalise, mean, std, '
                    f'to_rgb) = {theirs} differs from the student\'s {mine}; '
                    'teachers see the student\'s preprocessed batch, so they '
                    'must have been trained with the same normalisation '
                    '(or pass check_preprocessor=False)')
        return teacher

    def init_weights(self) -> None:
        """Initialise the student; the teachers keep their loaded weights.

        Raises:
            FileNotFoundError: When the teachers were not built because a
                config or checkpoint file is missing (the Runner calls this
                before training, so training stops before its first step).
        """
        if self.missing_teachers is not None:
            raise FileNotFoundError(self.missing_teachers)
        saved = {k: v.clone() for k, v in self.teachers.state_dict().items()}
        super().init_weights()
        if saved:
            self.teachers.load_state_dict(saved)

    def _check_trainable(self) -> None:
        """Raise unless the teachers are built (before a training loss)."""
        if self.missing_teachers is not None:
            raise FileNotFoundError(self.missing_teachers)
        if len(self.teachers) == 0:
            raise RuntimeError(f'{type(self).__name__} has no teachers: it '
                               'cannot be trained (build it with `teachers`)')

    def train(self, mode: bool = True) -> 'BaseDistiller':
        """Set the mode; with ``teacher_bn_mode='eval'`` the teachers stay
        in eval mode."""
        super().train(mode)
        teachers = self._modules.get('teachers')
        if teachers is not None and self.teacher_bn_mode == 'eval':
            teachers.eval()
        return self

    # ------------------------------------------------------- state dicts
    def _drop_teacher_keys(self, module: nn.Module, state_dict: dict,
                           prefix: str, local_metadata: dict) -> dict:
        if self.save_teachers:
            return state_dict
        return drop_prefixed_keys(state_dict, prefix + TEACHERS_PREFIX)

    def _fill_teacher_keys(self, module: nn.Module, state_dict: dict,
                           prefix: str, *args) -> None:
        """Map :attr:`legacy_prefix` keys (and their ``_metadata``) onto
        ``teachers.0.``; teacher keys absent from a loaded state dict keep
        their current (built-from-checkpoint) values."""
        if self.legacy_prefix:
            old, new = prefix + self.legacy_prefix, \
                prefix + TEACHERS_PREFIX + '0.'
            for key in [k for k in state_dict if k.startswith(old)]:
                state_dict[new + key[len(old):]] = state_dict.pop(key)
            meta = getattr(state_dict, '_metadata', None) or {}
            for key in [k for k in meta if (k + '.').startswith(old)]:
                meta[(new + key[len(old):]).rstrip('.')] = meta.pop(key)
        own = self.teachers.state_dict(
            prefix=prefix + TEACHERS_PREFIX, keep_vars=True)
        for key, value in own.items():
            if key not in state_dict:
                state_dict[key] = value.detach()
