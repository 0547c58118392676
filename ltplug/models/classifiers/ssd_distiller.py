# Copyright (c) ltplug contributors. All rights reserved.
"""SSD stage III (Li, Wang, Wu, ICCV 2021, the official ``SDL`` of
``ssd_stage_iii.py``): a new student with a hard and a soft linear head,
trained from scratch on the labels and on the online logits of the frozen
stage-II (LWS-calibrated) teacher."""
import copy
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ltplug.models.utils.data_sample import pack_multi_logit_predictions
from ltplug.models.utils.teacher import untracked_bn

from .base_distiller import BaseDistiller

__all__ = ['SSDDistiller']

PREDICT_HEADS = ('soft', 'hard')
#: not given (``teacher=None`` means "no teacher")
_UNSET = object()


@MODELS.register_module()
class SSDDistiller(BaseDistiller):
    """SSD self-distillation: student with hard + soft heads, frozen teacher.

    The student (``backbone`` -> ``neck`` -> two linear heads on the same
    feature, from scratch) is trained with ``loss_hard`` = CE of ``head``
    (the hard head) and ``loss_kd`` = ``kd_loss(soft_head logits, teacher
    logits)`` (:class:`KDLoss`, T = 2, weight 1). The teacher's logits are
    computed online under ``torch.no_grad`` on the **same** preprocessed
    batch; for the SSD chain the teacher is the stage-II model (the stage-I
    encoder + the LWS head), so its logits are the calibrated ``s * (W f +
    b)``.

    The one teacher, ``teachers=[dict(config=..., checkpoint=...)]``, is
    built, checked, frozen and kept out of DDP and checkpoints by
    :class:`BaseDistiller` (messages name it ``SSD teacher``). With any
    ``paramwise_cfg`` in the optimizer config, MMEngine leaves it out of
    the optimizer. ``model.teacher`` is the built teacher (None without).

    Teacher BN (``teacher_bn_mode``):

    - ``'train'`` (official, reproduction): the teacher runs in train mode
      while the student trains, so its BN normalises with the statistics of
      the current instance-balanced batch. The official code also lets the
      teacher's running statistics drift, but never uses them; here the
      teacher's BN does not update them (see :meth:`teacher_logits`), so
      the teacher stays byte-identical (the logits are the same either
      way).
    - ``'eval'``: the teacher always runs in eval mode (its stored running
      statistics).

    A stage-II teacher config's own ``frozen_bn_mode`` is overridden by
    ``teacher_bn_mode``, so this is the only switch.

    Checkpoints: by default the teacher is left out of ``state_dict()``
    (a stage-III checkpoint holds the student only, keys of a plain
    ``ImageClassifier`` plus ``soft_head.*``). A checkpoint saved with the
    teacher by an earlier release (``teacher.*`` keys) loads: those keys
    are mapped onto ``teachers.0.*``. Without the teacher files (or with
    ``teachers=None``) the model is built for prediction only.

    Inference without the teacher files: when the teacher's config or
    checkpoint file does not exist, the model is built without the teacher
    (a warning, ``missing_teacher`` holds the reason), so a stage-III config
    can be tested or used by MMPretrain's inferencer with a student
    checkpoint alone. Training it raises ``FileNotFoundError`` naming the
    file, in :meth:`init_weights` (which the Runner calls before the first
    step) and in :meth:`loss`. Other teacher errors (no checkpoint named,
    a checkpoint that does not fit) still raise when the model is built.

    Prediction: ``predict_head='soft'`` (default; the SSD README's best
    stage-III figure, 55.4 vs 51.6 on ImageNet-LT, is the soft head) or
    ``'hard'`` (the head stage IV re-balances). Each data sample also
    carries ``expert_logits`` = ``[hard, soft]`` (2 x C) so that
    :class:`ExpertAccuracy` reports both heads (``top1_e0`` hard,
    ``top1_e1`` soft).

    Args:
        backbone (dict): Student backbone config.
        head (dict): Hard head config (``LinearClsHead`` with its CE loss).
        teachers (list[dict] | dict, optional): The one teacher,
            ``[dict(config=..., checkpoint=..., name=...)]`` (``name``
            optional; a single dict is accepted). Defaults to None (no
            teacher: predict only).
        soft_head (dict, optional): Soft head config. Defaults to None (a
            copy of ``head``).
        kd_loss (dict): Distillation loss config. Defaults to
            ``dict(type='KDLoss', temperature=2.0, loss_weight=1.0)``.
        teacher_bn_mode (str): ``'train'`` or ``'eval'``. Defaults to
            'train'.
        predict_head (str): ``'soft'`` or ``'hard'``. Defaults to 'soft'.
        teacher (dict, optional): Deprecated (DeprecationWarning): its
            keys update the one spec of ``teachers`` (or are it); None
            builds without teacher. Defaults to not given.
        save_teacher (bool, optional): Deprecated name of
            ``save_teachers``. Defaults to None (not given).
        **kwargs: The other arguments of :class:`BaseDistiller`: ``neck``
            (None), ``save_teachers`` (False), ``check_preprocessor``
            (True), ``pretrained``, ``train_cfg``, ``data_preprocessor``
            and ``init_cfg`` (None).
    """

    teacher_label = 'SSD teacher'
    checkpoint_hint = 'train stage II first and name its checkpoint'
    #: the key prefix of the teacher up to this base class
    legacy_prefix = 'teacher.'

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 teachers: Optional[list] = None,
                 soft_head: Optional[dict] = None,
                 kd_loss: dict = dict(
                     type='KDLoss', temperature=2.0, loss_weight=1.0),
                 teacher_bn_mode: str = 'train',
                 predict_head: str = 'soft',
                 teacher: Optional[dict] = _UNSET,
                 save_teacher: Optional[bool] = None,
                 **kwargs) -> None:
        specs = self._one_teacher(teachers, teacher)
        if save_teacher is not None:
            self._renamed('save_teacher', 'save_teachers', 'SSDDistiller')
            kwargs['save_teachers'] = save_teacher
        super().__init__(backbone=backbone, head=head,
                         teacher_bn_mode=teacher_bn_mode, **kwargs)
        if predict_head not in PREDICT_HEADS:
            raise ValueError(f'predict_head must be one of {PREDICT_HEADS}, '
                             f'but got {predict_head!r}')
        self.soft_head = MODELS.build(
            copy.deepcopy(soft_head if soft_head is not None else head))
        self.kd_loss = kd_loss if isinstance(kd_loss, nn.Module) else \
            MODELS.build(kd_loss)
        self.predict_head = predict_head
        self.num_classes = getattr(self.head, 'num_classes', None)
        soft_classes = getattr(self.soft_head, 'num_classes', None)
        if soft_classes != self.num_classes:
            raise ValueError(f'the soft head classifies {soft_classes} '
                             f'classes but the hard head {self.num_classes}')
        self._build_teachers(specs)

    @classmethod
    def _one_teacher(cls, teachers: Optional[list],
                     teacher: Optional[dict]) -> list:
        """The teacher specs, the deprecated ``teacher`` merged in."""
        specs = cls._teacher_specs(teachers)
        if teacher is not _UNSET:
            cls._renamed('teacher', 'teachers=[dict(config=..., '
                         'checkpoint=...)]', 'SSDDistiller')
            if teacher is None:
                specs = []
            elif len(specs) == 1 and isinstance(teacher, dict):
                # e.g. --cfg-options model.teacher.checkpoint=PATH
                specs = [dict(specs[0], **teacher)]
            else:
                specs = [teacher]
        if len(specs) > 1:
            raise ValueError('SSDDistiller distils one teacher, but got '
                             f'{len(specs)} in `teachers`')
        return specs

    @property
    def teacher(self) -> Optional[nn.Module]:
        """The teacher (``teachers[0]``); None when built without it."""
        return self.teachers[0] if len(self.teachers) else None

    @property
    def missing_teacher(self) -> Optional[str]:
        """Why the teacher was not built (``missing_teachers``)."""
        return self.missing_teachers

    @property
    def save_teacher(self) -> bool:
        """Deprecated name of ``save_teachers``."""
        return self.save_teachers

    # ------------------------------------------------------------ training
    @torch.no_grad()
    def teacher_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """The teacher's logits on ``inputs`` (no gradient; the teacher's
        buffers are left unchanged).

        In train mode, the teacher's BatchNorm layers normalise with the
        batch statistics but do not track them
        (:func:`~ltplug.models.utils.teacher.untracked_bn`): the same
        logits as a tracked train-mode forward, without copying and
        restoring every BN buffer.
        """
        self._check_trainable()
        with untracked_bn(self.teacher) as teacher:
            return teacher(inputs, mode='tensor')

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """``loss_hard`` (CE of the hard head) and ``loss_kd`` (soft head vs
        the teacher), plus the hard head's extra logs.

        Args:
            inputs (Tensor): The preprocessed batch ``(N, C, H, W)``.
            data_samples (list[DataSample]): With ``gt_label``.

        Returns:
            dict[str, Tensor]: The losses.
        """
        t_logits = self.teacher_logits(inputs)
        feats = self.extract_feat(inputs)
        losses = dict(self.head.loss(feats, data_samples))
        losses['loss_hard'] = losses.pop('loss')
        losses['loss_kd'] = self.kd_loss(self.soft_head(feats), t_logits)
        return losses

    def head_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, 2, C)``: the hard and the soft head's logits."""
        feats = self.extract_feat(inputs)
        return torch.stack([self.head(feats), self.soft_head(feats)], dim=1)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """``'tensor'``: the ``predict_head`` logits; ``'loss'``: losses;
        ``'predict'``: data samples."""
        if mode == 'tensor':
            idx = 0 if self.predict_head == 'hard' else 1
            return self.head_logits(inputs)[:, idx]
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Predict with ``predict_head``; every sample also gets
        ``expert_logits`` = ``[hard, soft]`` logits (2 x C)."""
        both = self.head_logits(inputs)
        idx = 0 if self.predict_head == 'hard' else 1
        return pack_multi_logit_predictions(both[:, idx], both, data_samples)
