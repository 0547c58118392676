# Copyright (c) ltplug contributors. All rights reserved.
"""Stage 2 of CBD (Iscen et al., "Class-Balanced Distillation for Long-Tailed
Visual Recognition", BMVC 2021, https://arxiv.org/abs/2104.05279): a student
trained from scratch with class-balanced sampling, cross-entropy and a cosine
feature-distillation term towards K frozen instance-sampled teachers."""
from typing import Dict, List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ltplug.models.utils.teacher import untracked_bn
from ltplug.utils.validate import check_number

from .base_distiller import BaseDistiller

__all__ = ['CBDDistiller']


@MODELS.register_module()
class CBDDistiller(BaseDistiller):
    """Class-Balanced Distillation student with K frozen teachers.

    The student is an :class:`mmpretrain.models.ImageClassifier`, trained
    from scratch: ``backbone`` -> ``neck`` (CBD: global average pooling +
    ``Linear(d, d * K)`` + ReLU, i.e. MMPretrain's ``LinearNeck`` with
    ``gap_dim=2, norm_cfg=None, act_cfg=dict(type='ReLU')`` on a ResNet's
    ``(N, d, H, W)`` output) -> ``head`` (a
    :class:`CosineClsHead`, scale 20 fixed, no bias, whose ``pre_logits`` is
    the L2-normalised neck output). That normalised vector feeds both the
    cosine classifier and the distillation.

    Each teacher is built from its own config and checkpoint at
    construction time, checked, frozen and kept out of DDP and checkpoints
    by :class:`BaseDistiller`. Its feature is its head's ``pre_logits``
    (for a CBD stage-1 teacher: the L2-normalised GAP feature). With the
    default ``teacher_bn_mode='eval'`` the teachers stay in eval mode
    whatever ``train()`` is called with; they have ``requires_grad=False``
    and run once per step on the whole batch under ``torch.no_grad``. The
    loss is

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
            optionally ``name`` (used in messages); a single dict is one
            teacher.
        alpha (float): Weight of the distillation term; CE gets
            ``1 - alpha``. Defaults to 0.4.
        distill_loss (dict): The distillation loss config. Defaults to
            ``dict(type='CosineFeatureDistillLoss', loss_weight=100.)``.
        **kwargs: The other arguments of :class:`BaseDistiller`:
            ``teacher_bn_mode`` ('eval', CBD's official behaviour),
            ``save_teachers`` (False), ``check_preprocessor`` (True),
            ``pretrained``, ``train_cfg``, ``data_preprocessor`` (the
            preprocessor of the batch that the student and all teachers
            see) and ``init_cfg`` (None).
    """

    teacher_label = 'teacher {k}'
    checkpoint_hint = 'CBD teachers must be trained (stage 1) first'

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 teachers: Sequence[dict],
                 alpha: float = 0.4,
                 distill_loss: dict = dict(
                     type='CosineFeatureDistillLoss', loss_weight=100.),
                 **kwargs) -> None:
        alpha = check_number('alpha', alpha, min=0., max=1.,
                             owner='CBDDistiller')
        specs = self._teacher_specs(teachers)
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)
        self.alpha = float(alpha)
        self.distill_loss = distill_loss if isinstance(
            distill_loss, nn.Module) else MODELS.build(distill_loss)
        feat_dim = self._student_width()
        self._build_teachers(specs)
        widths = [self._teacher_width(t, n)
                  for t, n in zip(self.teachers, self.teacher_names)]
        self._check_widths(widths, feat_dim)
        self.teacher_widths = widths

    # ------------------------------------------------------------ building
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

    # ------------------------------------------------------------ training
    @torch.no_grad()
    def teacher_features(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """L2-normalised ``(B, d_k)`` feature of every teacher (one forward
        per teacher on the whole batch, without gradient)."""
        feats = []
        for teacher in self.teachers:
            stage = 'pre_logits' if getattr(teacher, 'with_head',
                                            False) else 'neck'
            with untracked_bn(teacher):
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
        self._check_trainable()
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
