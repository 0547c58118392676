# Copyright (c) ltplug contributors. All rights reserved.
"""The feature-distillation term of CBD (Iscen et al., "Class-Balanced
Distillation for Long-Tailed Visual Recognition", BMVC 2021,
https://arxiv.org/abs/2104.05279)."""
from typing import Sequence, Union

import torch
import torch.nn as nn
from mmpretrain.registry import MODELS

from ltplug.models.utils.logit_adjust import compute_dtype, l2_normalize
from ltplug.utils.validate import check_number


@MODELS.register_module()
class CosineFeatureDistillLoss(nn.Module):
    """Cosine distance between a student feature and concatenated teachers.

    .. math::

        L = w \\cdot \\frac{1}{B} \\sum_b \\left(1 - \\langle
            \\hat{s}_b, \\hat{t}_b \\rangle\\right), \\quad
        \\hat{s} = \\frac{s}{\\|s\\|}, \\quad
        \\hat{t} = \\mathrm{normalize}\\left(\\mathrm{concat}_k
            \\frac{t_k}{\\|t_k\\|}\\right)

    Each teacher feature is L2-normalised on its own before concatenation,
    so every teacher has the same weight whatever the scale of its feature,
    and the concatenation (of norm ``sqrt(K)``) is normalised again. In CBD
    ``loss_weight`` is ``beta = 100`` and the distiller multiplies the result
    by ``alpha = 0.4``. Teacher features are detached: no gradient reaches a
    teacher through this loss.

    Mixed precision: every normalisation and the cosine are computed in
    fp32 (``eps = 1e-12`` is 0 in fp16, where a zero feature would give
    ``0 / 0``), with the norm bound of
    :func:`ltplug.models.utils.logit_adjust.l2_normalize`, and the loss is
    fp32.

    Args:
        loss_weight (float): The weight ``w`` (CBD's ``beta``).
            Defaults to 1.0.
        eps (float): Guard of every L2 normalisation. Defaults to 1e-12.
    """

    def __init__(self, loss_weight: float = 1.0, eps: float = 1e-12) -> None:
        super().__init__()
        owner = type(self).__name__
        self.loss_weight = check_number('loss_weight', loss_weight, min=0,
                                        owner=owner)
        self.eps = check_number('eps', eps, min=0, min_inclusive=False,
                                owner=owner)

    def teacher_target(
        self, teacher_feats: Union[torch.Tensor, Sequence[torch.Tensor]]
    ) -> torch.Tensor:
        """``normalize(concat_k normalize(t_k))`` of shape ``(B, sum d_k)``.

        Args:
            teacher_feats (Tensor | Sequence[Tensor]): One ``(B, d_k)``
                feature per teacher (a single tensor is one teacher).

        Returns:
            Tensor: The detached, normalised target.
        """
        if isinstance(teacher_feats, torch.Tensor):
            teacher_feats = [teacher_feats]
        if len(teacher_feats) == 0:
            raise ValueError('teacher_feats is empty: at least one teacher '
                             'feature is needed')
        parts = []
        for k, t in enumerate(teacher_feats):
            if t.dim() != 2:
                raise ValueError(f'teacher feature {k} must be (B, d), but '
                                 f'got shape {tuple(t.shape)}')
            parts.append(
                l2_normalize(t.detach(), dim=1, eps=self.eps,
                             dtype=compute_dtype(t.dtype)))
        return l2_normalize(torch.cat(parts, dim=1), dim=1, eps=self.eps)

    def forward(
        self, student_feat: torch.Tensor,
        teacher_feats: Union[torch.Tensor, Sequence[torch.Tensor]]
    ) -> torch.Tensor:
        """Compute the loss.

        Args:
            student_feat (Tensor): ``(B, D)`` student feature, with ``D`` the
                sum of the teachers' widths.
            teacher_feats (Tensor | Sequence[Tensor]): One ``(B, d_k)``
                feature per teacher.

        Returns:
            Tensor: The scalar loss.
        """
        target = self.teacher_target(teacher_feats)
        if student_feat.dim() != 2:
            raise ValueError('student_feat must be (B, D), but got shape '
                             f'{tuple(student_feat.shape)}')
        if student_feat.shape != target.shape:
            raise ValueError(
                f'student feature of shape {tuple(student_feat.shape)} does '
                'not match the concatenated teacher features of shape '
                f'{tuple(target.shape)}')
        # norm bound from the input dtype, result and cosine in fp32
        s = l2_normalize(student_feat, dim=1, eps=self.eps,
                         dtype=compute_dtype(student_feat.dtype))
        cos = (s * target.to(s.dtype)).sum(dim=1)
        return self.loss_weight * (1.0 - cos).mean()
