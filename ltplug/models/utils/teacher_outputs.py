# Copyright (c) ltplug contributors. All rights reserved.
"""What a classifier gives as a distillation teacher: its logits and its
feature, whatever its type (an NCL ensemble, an SSD student, any MMPretrain
``ImageClassifier``)."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.classifiers import ImageClassifier

__all__ = ['teacher_outputs', 'teacher_feature_width']


def _is_multi_expert(model: nn.Module) -> bool:
    from ltplug.models.classifiers.ncl_multi_expert_classifier import \
        NCLMultiExpertClassifier
    return isinstance(model, NCLMultiExpertClassifier)


def _known_teacher(model: nn.Module) -> None:
    if not (_is_multi_expert(model) or isinstance(model, ImageClassifier)):
        raise TypeError(
            f'cannot take teacher outputs of a {type(model).__name__}; '
            'supported: NCLMultiExpertClassifier, ImageClassifier and its '
            'subclasses (SSDDistiller, CBDDistiller, ...)')


def teacher_outputs(teacher: nn.Module, inputs: torch.Tensor,
                    normalize_parts: bool = False
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(logits, feature)`` of a classifier used as a teacher.

    - :class:`NCLMultiExpertClassifier`: the mean of the experts' raw
      logits (what the ensemble predicts) and the concatenation of the
      experts' pooled features (``(B, E * d)``, expert order).
    - ``SSDDistiller``: the logits of its ``predict_head`` and the shared
      feature (the heads' ``pre_logits``).
    - any other ``ImageClassifier``: its head's logits and ``pre_logits``.

    Runs as the teacher is (no ``no_grad``, no BN switch: see
    :func:`untracked_bn`).

    Args:
        teacher (nn.Module): The teacher model.
        inputs (Tensor): The preprocessed batch ``(B, C, H, W)``.
        normalize_parts (bool): L2-normalise each expert's (or the one)
            feature before concatenating, as CBD does per teacher.
            Defaults to False.

    Returns:
        tuple[Tensor, Tensor]: ``(B, C)`` logits and ``(B, D)`` feature.

    Raises:
        TypeError: For a model of another type, naming it.
    """
    _known_teacher(teacher)
    if _is_multi_expert(teacher):
        feats = teacher.extract_feat(inputs)
        logits = torch.stack(
            [head(f) for head, f in zip(teacher.heads, feats)]).mean(0)
        parts = [f[-1].flatten(1) for f in feats]
    else:
        from ltplug.models.classifiers.ssd_distiller import SSDDistiller
        feats = teacher.extract_feat(inputs)
        head = teacher.head
        if isinstance(teacher, SSDDistiller) and \
                teacher.predict_head == 'soft':
            head = teacher.soft_head
        logits = head(feats)
        parts = [teacher.head.pre_logits(feats).flatten(1)]
    if normalize_parts:
        parts = [F.normalize(p, dim=1) for p in parts]
    return logits, torch.cat(parts, dim=1)


def teacher_feature_width(teacher: nn.Module) -> int:
    """The width ``D`` of :func:`teacher_outputs`' feature (from the heads'
    ``in_channels``).

    Args:
        teacher (nn.Module): The teacher model.

    Returns:
        int: ``E * d`` for a multi-expert model, else ``head.in_channels``.

    Raises:
        TypeError: For an unknown model type, or a head without
            ``in_channels``.
    """
    _known_teacher(teacher)
    heads = list(teacher.heads) if _is_multi_expert(teacher) else \
        [teacher.head]
    widths = [getattr(h, 'in_channels', None) for h in heads]
    if None in widths:
        raise TypeError(f'{type(teacher).__name__}: its head '
                        f'{type(heads[0]).__name__} has no `in_channels`, '
                        'so its feature width is unknown')
    return int(sum(widths))
