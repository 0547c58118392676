# Copyright (c) ltplug contributors. All rights reserved.
"""Stage 2 of CBD (Iscen et al., "Class-Balanced Distillation for Long-Tailed
Visual Recognition", BMVC 2021, https://arxiv.org/abs/2104.05279): a student
trained from scratch with class-balanced sampling, cross-entropy and a cosine
feature-distillation term towards K frozen instance-sampled teachers."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.logging import MMLogger
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ltplug.utils.validate import check_bool, check_number
from ltplug.models.utils.teacher import (build_frozen_model,
                                         drop_prefixed_keys, norm_signature,
                                         teacher_model_cfg)

from .teacher_files import missing_teacher_file

__all__ = ['CBDDistiller']

TEACHERS_PREFIX = 'teachers.'


@MODELS.register_module()
class CBDDistiller(ImageClassifier):
    """Class-Balanced Distillation student with K frozen teachers.

    The student is an :class:`mmpretrain.models.ImageClassifier`, trained
    from scratch: ``backbone`` -> ``neck`` (CBD: global average pooling +
    ``Linear(d, d * K)`` + ReLU, i.e. MMPretrain's ``LinearNeck`` with
    ``gap_dim=2, norm_cfg=None, act_cfg=dict(type='ReLU')`` on a ResNet's
    ``(N, d, H, W)`` output) -> ``head`` (a
    :class:`CosineClsHead`, scale 20 fixed, no bias, whose ``pre_logits`` is
    the L2-normalised neck output). That normalised vector feeds both the
    cosine classifier and the distillation.

    Each teacher is built from its own config and checkpoint with
    :func:`ltplug.models.utils.build_frozen_model` at construction time. Its
    feature is its head's ``pre_logits`` (for a CBD stage-1 teacher: the
    L2-normalised GAP feature). Teachers stay in eval mode whatever
    ``train()`` is called with, have ``requires_grad=False`` and run once per
    step on the whole batch under ``torch.no_grad``. The loss is

    ``(1 - alpha) * CE + alpha * distill_loss(student_feat, teacher_feats)``

    with ``distill_loss = CosineFeatureDistillLoss(loss_weight=beta)``
    (official: ``alpha = 0.4``, ``beta = 100``). Teacher logits are not used
    (the official code computes their mean but never uses it).

    Build-time checks, each naming the teacher: its config and checkpoint
    exist, the checkpoint fits the config, it classifies as many classes as
    the student, its data preprocessor normalises pixels like the student's
    (teachers see the student's preprocessed batch), and its feature width is
    ``D / K`` where ``D`` is the student's feature width (the head's
    ``in_channels``, which must equal the neck's ``out_channels``).

    Optimizer and DDP: teacher parameters have ``requires_grad=False`` and
    never receive a gradient. MMEngine's default optimizer constructor still
    lists them in the param groups, but ``torch.optim`` skips parameters
    whose ``grad`` is None: no update, no weight decay, no momentum state.
    They are also listed in ``_ddp_params_and_buffers_to_ignore``, so DDP
    neither broadcasts nor all-reduces teacher weights and BN buffers.

    Checkpoints: by default (``save_teachers=False``) the teachers are left
    out of ``state_dict()``, so a CBD checkpoint holds only the student (its
    keys are those of a plain ``ImageClassifier``). When a state dict without
    teacher keys is loaded (resume, ``load_from``, testing), the teachers
    keep the weights they were built with, so nothing is loaded twice and no
    key is reported missing. Build with ``teachers=[]`` to evaluate a
    checkpoint without the teacher files (training then raises).

    Inference without the teacher files: when any teacher's config or
    checkpoint file does not exist, the student is built without teachers
    (a warning; ``missing_teachers`` lists the files), so a CBD config can
    be tested or used by MMPretrain's inferencer with a student checkpoint
    alone. Training it raises ``FileNotFoundError`` naming the files, in
    :meth:`init_weights` (which the Runner calls before the first step) and
    in :meth:`loss`. Other teacher errors (unknown keys, no checkpoint
    named, a checkpoint that does not fit) still raise at construction.

    Args:
        backbone (dict): The student backbone config.
        neck (dict): The student projection config (see above).
        head (dict): The student head config (a ``CosineClsHead``).
        teachers (Sequence[dict]): One dict per teacher with keys ``config``
            (a config file path, whose ``model`` is used, or a model config
            dict), ``checkpoint`` (the path of its trained weights) and
            optionally ``name`` (used in messages).
        alpha (float): Weight of the distillation term; CE gets
            ``1 - alpha``. Defaults to 0.4.
        distill_loss (dict): The distillation loss config. Defaults to
            ``dict(type='CosineFeatureDistillLoss', loss_weight=100.)``.
        save_teachers (bool): Keep teacher weights in ``state_dict()`` (and
            so in checkpoints). Defaults to False.
        check_preprocessor (bool): Refuse a teacher whose data preprocessor
            normalises pixels differently from the student's.
            Defaults to True.
        pretrained (str, optional): Passed to ``ImageClassifier``.
            Defaults to None.
        train_cfg (dict, optional): Passed to ``ImageClassifier`` (batch
            augments). Defaults to None.
        data_preprocessor (dict, optional): The preprocessor of the batch
            that the student and all teachers see. Defaults to None
            (``ClsDataPreprocessor``).
        init_cfg (dict, optional): Initialisation config of the student.
            Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 teachers: Sequence[dict],
                 alpha: float = 0.4,
                 distill_loss: dict = dict(
                     type='CosineFeatureDistillLoss', loss_weight=100.),
                 save_teachers: bool = False,
                 check_preprocessor: bool = True,
                 pretrained: Optional[str] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        alpha = check_number('alpha', alpha, min=0., max=1.,
                             owner='CBDDistiller')
        save_teachers = check_bool('save_teachers', save_teachers,
                                   owner='CBDDistiller')
        check_preprocessor = check_bool(
            'check_preprocessor', check_preprocessor, owner='CBDDistiller')
        if isinstance(teachers, (dict, ConfigDict)):
            teachers = [teachers]
        if not isinstance(teachers, (list, tuple)):
            raise TypeError('teachers must be a list of dicts, but got '
                            f'{type(teachers).__name__}')
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            train_cfg=train_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.alpha = float(alpha)
        self.save_teachers = save_teachers
        self.distill_loss = distill_loss if isinstance(
            distill_loss, nn.Module) else MODELS.build(distill_loss)

        num_classes = getattr(self.head, 'num_classes', None)
        feat_dim = self._student_width()
        self.teacher_names: List[str] = []
        self.teachers = nn.ModuleList()
        #: why the teachers were not built (missing files), raised by
        #: :meth:`init_weights` and :meth:`loss`; None when built or absent
        self.missing_teachers: Optional[str] = self._missing_files(teachers)
        if self.missing_teachers is not None:
            MMLogger.get_current_instance().warning(
                f'CBDDistiller built without its teachers '
                f'({self.missing_teachers}): it can predict and be tested, '
                'not trained')
            teachers = []
        widths = []
        for k, spec in enumerate(teachers):
            name = self._teacher_name(k, spec)
            teacher = self._build_teacher(spec, name, num_classes,
                                          check_preprocessor)
            self.teachers.append(teacher)
            self.teacher_names.append(name)
            widths.append(self._teacher_width(teacher, name))
        self._check_widths(widths, feat_dim)
        self.teacher_widths = widths

        for teacher in self.teachers:
            teacher.eval()
        # DDP: teachers are identical on every rank (same files); never
        # broadcast or all-reduce their weights and BN buffers.
        self._ddp_params_and_buffers_to_ignore = [
            TEACHERS_PREFIX + n for n, _ in self.teachers.named_parameters()
        ] + [TEACHERS_PREFIX + n for n, _ in self.teachers.named_buffers()]
        self._register_state_dict_hook(self._drop_teacher_keys)
        self.register_load_state_dict_pre_hook(self._fill_teacher_keys)
        if not self.teachers and self.missing_teachers is None:
            MMLogger.get_current_instance().warning(
                'CBDDistiller built without teachers: it can only predict; '
                'training needs teachers')

    # ------------------------------------------------------------ building
    @classmethod
    def _missing_files(cls, teachers: Sequence[dict]) -> Optional[str]:
        """The missing config / checkpoint files of the teachers, or None.

        Specs are validated first (unknown keys, no config or checkpoint
        named), so those errors still raise at construction.
        """
        missing = []
        for k, spec in enumerate(teachers):
            name = cls._teacher_name(k, spec)
            cls._check_spec(spec, name)
            msg = missing_teacher_file(name, spec['config'],
                                       spec['checkpoint'])
            if msg is not None:
                missing.append(msg)
        return '; '.join(missing) if missing else None

    @staticmethod
    def _check_spec(spec: dict, name: str) -> None:
        unknown = set(spec) - {'config', 'checkpoint', 'name'}
        if unknown:
            raise KeyError(f'{name}: unknown key(s) {sorted(unknown)}; '
                           'expected config, checkpoint and name')
        if spec.get('config') is None:
            raise KeyError(f'{name}: no `config` given')
        checkpoint = spec.get('checkpoint')
        if not checkpoint:
            raise ValueError(
                f'{name}: no `checkpoint` given (got {checkpoint!r}); '
                'CBD teachers must be trained (stage 1) first')

    @staticmethod
    def _teacher_name(k: int, spec: dict) -> str:
        if not isinstance(spec, (dict, ConfigDict)):
            raise TypeError(f'teacher {k} must be a dict with `config` and '
                            f'`checkpoint`, but got {spec!r}')
        if spec.get('name'):
            return f'teacher {k} ("{spec["name"]}")'
        config = spec.get('config')
        if isinstance(config, str):
            return f'teacher {k} ("{osp.basename(config)}")'
        return f'teacher {k}'

    def _build_teacher(self, spec: dict, name: str,
                       num_classes: Optional[int],
                       check_preprocessor: bool) -> nn.Module:
        self._check_spec(spec, name)
        checkpoint = spec['checkpoint']
        model_cfg = teacher_model_cfg(spec['config'], name)
        teacher = build_frozen_model(
            model_cfg, checkpoint, name=name, num_classes=num_classes)
        if check_preprocessor and hasattr(teacher, 'data_preprocessor'):
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

    def _student_width(self) -> int:
        head_in = getattr(self.head, 'in_channels', None)
        neck_out = getattr(self.neck, 'out_channels', None)
        if head_in is None:
            raise TypeError(
                f'the student head {type(self.head).__name__} has no '
                '`in_channels`; CBD needs a head with a known feature width '
                '(e.g. CosineClsHead)')
        if neck_out is not None and neck_out != head_in:
            raise ValueError(
                f'the student projection gives {neck_out}-d features '
                f'(neck.out_channels) but the head expects {head_in} '
                '(head.in_channels)')
        return int(head_in)

    @staticmethod
    def _teacher_width(teacher: nn.Module, name: str) -> int:
        head = getattr(teacher, 'head', None)
        width = getattr(head, 'in_channels', None)
        if width is None:
            raise TypeError(
                f'{name}: its head {type(head).__name__} has no '
                '`in_channels`, so its feature width is unknown')
        return int(width)

    def _check_widths(self, widths: List[int], feat_dim: int) -> None:
        if not widths or sum(widths) == feat_dim:
            return
        k = len(widths)
        per = feat_dim / k
        bad = [f'{n} gives {w}-d features'
               for n, w in zip(self.teacher_names, widths) if w != per]
        detail = '; '.join(bad) if bad else ', '.join(
            f'{n}: {w}-d' for n, w in zip(self.teacher_names, widths))
        raise ValueError(
            f'teacher feature width mismatch: {detail}, but the student '
            f'projection gives {feat_dim}-d features for {k} teacher(s), '
            f'i.e. {per:g} per teacher (set the student neck.out_channels '
            f'and head.in_channels to {sum(widths)})')

    # ------------------------------------------------------- state dicts
    def _drop_teacher_keys(self, module: nn.Module, state_dict: dict,
                           prefix: str, local_metadata: dict) -> dict:
        if self.save_teachers:
            return state_dict
        return drop_prefixed_keys(state_dict, prefix + TEACHERS_PREFIX)

    def _fill_teacher_keys(self, module: nn.Module, state_dict: dict,
                           prefix: str, *args) -> None:
        """Teacher keys absent from a loaded state dict keep their current
        (built-from-checkpoint) values."""
        own = self.teachers.state_dict(prefix=prefix + TEACHERS_PREFIX,
                                       keep_vars=True)
        for key, value in own.items():
            if key not in state_dict:
                state_dict[key] = value.detach()

    def init_weights(self) -> None:
        """Initialise the student (built teachers are already loaded and
        skipped).

        Raises:
            FileNotFoundError: When the teachers were not built because a
                config or checkpoint file is missing (the Runner calls this
                before training, so training stops before its first step).
        """
        if self.missing_teachers is not None:
            raise FileNotFoundError(self.missing_teachers)
        super().init_weights()

    # ------------------------------------------------------------ training
    def train(self, mode: bool = True) -> 'CBDDistiller':
        """Set the student's mode; teachers always stay in eval mode."""
        super().train(mode)
        for teacher in self.teachers:
            teacher.eval()
        return self

    @torch.no_grad()
    def teacher_features(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """L2-normalised ``(B, d_k)`` feature of every teacher (one forward
        per teacher on the whole batch, without gradient)."""
        feats = []
        for teacher in self.teachers:
            stage = 'pre_logits' if getattr(teacher, 'with_head',
                                            False) else 'neck'
            feat = teacher.extract_feat(inputs, stage=stage)
            if isinstance(feat, (tuple, list)):
                feat = feat[-1]
            feats.append(F.normalize(feat.flatten(1), dim=1))
        return feats

    def student_feature(self, feats: tuple) -> torch.Tensor:
        """The student's distilled feature: the head's ``pre_logits``."""
        return self.head.pre_logits(feats)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """``(1 - alpha) * CE`` as ``loss_cls`` and ``alpha * distill`` as
        ``loss_distill`` (plus whatever else the head logs).

        Args:
            inputs (Tensor): The preprocessed batch ``(N, C, H, W)``.
            data_samples (List[DataSample]): The annotations.

        Returns:
            dict[str, Tensor]: The losses.
        """
        if self.missing_teachers is not None:
            raise FileNotFoundError(self.missing_teachers)
        if len(self.teachers) == 0:
            raise RuntimeError('CBDDistiller has no teachers: it cannot be '
                               'trained (build it with `teachers`)')
        # The teachers first: their no-grad forwards then run while no
        # graph is alive rather than on top of the student's (a lower
        # peak; on CPU, glibc otherwise returns and re-faults that memory
        # every step). They are frozen and in eval mode, so the order
        # changes no value.
        teacher_feats = self.teacher_features(inputs)
        feats = self.extract_feat(inputs)
        losses = dict(self.head.loss(feats, data_samples))
        ce = losses.pop('loss')
        distill = self.distill_loss(self.student_feature(feats), teacher_feats)
        losses['loss_cls'] = (1.0 - self.alpha) * ce
        losses['loss_distill'] = self.alpha * distill
        return losses
