# Copyright (c) ltplug contributors. All rights reserved.
"""Distil a trained ensemble (an NCL model's experts, or several teachers)
into one plain network: balanced CE on the labels, KD towards the
ensemble's mean logits and, optionally, CBD's cosine distillation towards
the concatenated expert features."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ltplug.models.utils.teacher import untracked_bn
from ltplug.models.utils.teacher_outputs import (teacher_feature_width,
                                                 teacher_outputs)

from .base_distiller import BaseDistiller

__all__ = ['EnsembleDistiller']


@MODELS.register_module()
class EnsembleDistiller(BaseDistiller):
    """One network trained from a frozen ensemble teacher.

    The student is a plain :class:`ImageClassifier` (for NCL: the size of
    one expert, ``backbone`` -> ``neck`` -> ``head``); it predicts alone,
    with its head's raw logits. Any classifier config + checkpoint is a
    teacher (:func:`~ltplug.models.utils.teacher_outputs.teacher_outputs`):
    an :class:`NCLMultiExpertClassifier` gives the mean of its experts' raw
    logits (what the NCL ensemble predicts) and the concatenation of their
    pooled features; an ``ImageClassifier`` its head's logits and
    ``pre_logits``. With several teachers the logits are averaged and the
    features concatenated. The loss is

    ``loss_cls`` (the student head's own loss, CE in the configs)
    ``+ loss_kd`` (``kd_loss(student logits, teacher logits)``)
    ``+ loss_feat`` (``feat_loss(projection(student feature), teacher
    features)``, only when ``feat_loss`` is given).

    Defaults, and why:

    - ``kd_loss``: :class:`KDLoss` with ``T = 2`` and weight 1, SSD's
      stage-III setting (the project's other long-tailed KD). It compares
      raw logits: NCL's raw logits are already balanced (its CE adjusts
      the logits in training only), and the student sees class-balanced
      batches (below), so both sides estimate the balanced posterior.
    - ``feat_loss``: None (off). The NCL feature is ``E * d`` wide, so the
      term needs a train-only ``Linear(d, E * d)`` projection, and CBD's
      weights (0.4 x 100) were tuned for its cosine-classifier student with
      a 0.6-weighted CE, not for this loss. Turn it on with e.g.
      ``feat_loss=dict(type='CosineFeatureDistillLoss', loss_weight=40.)``
      (CBD's ``alpha * beta``); each expert's feature is L2-normalised
      before concatenation, as CBD normalises each teacher.
    - Sampling (the configs): CBD's class-balanced resampling with plain CE
      on the labels. NCL's recipe for one expert, Balanced Softmax on
      instance-balanced sampling, fell below the ensemble's few-shot
      accuracy on CIFAR-10-LT at the CPU budget (``configs/ncl/README.md``);
      it stays a config switch. Do not combine Balanced Softmax with the
      resampling: that corrects the prior twice.

    Teachers are built, checked (classes, preprocessor), frozen and kept
    out of DDP and of ``state_dict()`` (``save_teachers`` False: the
    checkpoint holds the student, plus ``projection.*`` when the feature
    term is on, which a build without it ignores on load) by
    :class:`BaseDistiller`, which also gives predict-only builds without
    the teacher files. They run once per step, first, under
    ``torch.no_grad`` (``teacher_bn_mode='eval'``: their running
    statistics; ``'train'``: batch statistics, untracked).

    Args:
        backbone (dict): The student backbone config.
        head (dict): The student head config; its loss is the label loss.
        teachers (Sequence[dict], optional): ``dict(config=..., checkpoint=
            ..., name=...)`` per teacher (``name`` optional; one dict is
            one teacher). Defaults to None (predict only).
        neck (dict, optional): The student neck config. Defaults to None.
        kd_loss (dict): The logit distillation loss config. Defaults to
            ``dict(type='KDLoss', temperature=2.0, loss_weight=1.0)``.
        feat_loss (dict, optional): The feature distillation loss config
            (a ``CosineFeatureDistillLoss``). Defaults to None (off).
        **kwargs: The other arguments of :class:`BaseDistiller`:
            ``teacher_bn_mode`` ('eval'), ``save_teachers`` (False),
            ``check_preprocessor`` (True), ``pretrained``, ``train_cfg``,
            ``data_preprocessor`` and ``init_cfg`` (None).
    """

    teacher_label = 'teacher {k}'
    checkpoint_hint = 'train the teacher (e.g. the NCL model) first'

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 teachers: Optional[Sequence[dict]] = None,
                 neck: Optional[dict] = None,
                 kd_loss: dict = dict(
                     type='KDLoss', temperature=2.0, loss_weight=1.0),
                 feat_loss: Optional[dict] = None,
                 **kwargs) -> None:
        specs = self._teacher_specs(teachers)
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)
        self.kd_loss = kd_loss if isinstance(kd_loss, nn.Module) else \
            MODELS.build(kd_loss)
        self.feat_loss = None if feat_loss is None else (
            feat_loss if isinstance(feat_loss, nn.Module) else
            MODELS.build(feat_loss))
        self._build_teachers(specs)
        self.num_classes = getattr(self.head, 'num_classes', None)
        # a teacher of an unknown type raises here (TypeError), not at the
        # first step
        self.teacher_widths = [teacher_feature_width(t)
                               for t in self.teachers]
        for teacher, name in zip(self.teachers, self.teacher_names):
            got = getattr(teacher, 'num_classes', None)
            if got is not None and self.num_classes is not None and \
                    got != self.num_classes:
                raise ValueError(f'{name}: it classifies {got} classes, but '
                                 f'the student {self.num_classes}')
        if self.feat_loss is not None and len(self.teachers):
            # train-only; a predict-only build has none and ignores a
            # checkpoint's ``projection.*`` keys (see _drop_projection)
            self.projection = self._build_projection()
        self.register_load_state_dict_pre_hook(self._drop_projection)

    def _build_projection(self) -> nn.Linear:
        """``Linear(d, D)``: the student feature to the teachers' width."""
        width = getattr(self.head, 'in_channels', None)
        if width is None:
            raise TypeError(
                f'the student head {type(self.head).__name__} has no '
                '`in_channels`; feature distillation needs its width')
        return nn.Linear(int(width), sum(self.teacher_widths))

    def _drop_projection(self, module: nn.Module, state_dict: dict,
                         prefix: str, *args) -> None:
        """Without a projection (predict-only build, or the feature term
        off), a loaded state dict's ``projection.*`` keys (train-only) are
        dropped, so a student checkpoint loads strictly."""
        if 'projection' not in self._modules:
            for key in [k for k in state_dict
                        if k.startswith(prefix + 'projection.')]:
                del state_dict[key]

    # ------------------------------------------------------------ training
    @torch.no_grad()
    def ensemble_outputs(
            self, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The teachers' mean logits ``(B, C)`` and concatenated features
        ``(B, D)`` (each part L2-normalised), without gradient and without
        changing any teacher buffer."""
        self._check_trainable()
        logits, feats = [], []
        for teacher in self.teachers:
            with untracked_bn(teacher):
                t_logits, t_feat = teacher_outputs(
                    teacher, inputs, normalize_parts=True)
            logits.append(t_logits)
            feats.append(t_feat)
        return torch.stack(logits).mean(0), torch.cat(feats, dim=1)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """``loss_cls``, ``loss_kd`` and (when on) ``loss_feat``, plus what
        else the head logs.

        Args:
            inputs (Tensor): The preprocessed batch ``(N, C, H, W)``.
            data_samples (list[DataSample]): With ``gt_label``.

        Returns:
            dict[str, Tensor]: The losses.
        """
        # teachers first: their no-grad forwards run while no graph is
        # alive (a lower peak); they are frozen, so the order changes no
        # value
        t_logits, t_feat = self.ensemble_outputs(inputs)
        feats = self.extract_feat(inputs)
        logits = self.head(feats)
        # the head's own loss on the same logits (MMPretrain's ClsHead)
        losses = dict(self.head._get_loss(logits, data_samples))
        losses['loss_cls'] = losses.pop('loss')
        losses['loss_kd'] = self.kd_loss(logits, t_logits)
        if self.feat_loss is not None:
            student = self.projection(self.head.pre_logits(feats))
            losses['loss_feat'] = self.feat_loss(student, t_feat)
        return losses
