# Copyright (c) ltplug contributors. All rights reserved.
"""Temperature-scaled knowledge distillation loss (Hinton et al., 2015), as
used by SSD's self-distillation stage (Li et al., ICCV 2021)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from ltplug.models.utils.logit_adjust import upcast
from .utils import check_temperature_and_weight


@MODELS.register_module()
class KDLoss(nn.Module):
    """``loss_weight * T^2 * mean_b KL(softmax(t_b / T) || softmax(s_b / T))``.

    The KL divergence is summed over classes and averaged over the batch
    (``batchmean``), and multiplied by ``T^2`` so that the gradient scale
    does not depend on the temperature. The teacher logits are detached.
    fp16/bf16 logits are cast to fp32 before the softmax, so the loss is
    fp32 (as ``torch.autocast`` computes ``kl_div``).

    Args:
        temperature (float): The softening temperature ``T``; SSD uses 2.
            Defaults to 2.0.
        loss_weight (float): Weight of the loss (>= 0). Defaults to 1.0.
    """

    def __init__(self,
                 temperature: float = 2.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.temperature, self.loss_weight = check_temperature_and_weight(
            type(self).__name__, temperature, loss_weight)

    def forward(self, student_logits: torch.Tensor,
                teacher_logits: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            student_logits (Tensor): ``(N, C)`` logits of the student.
            teacher_logits (Tensor): ``(N, C)`` logits of the teacher (no
                gradient flows into them).

        Returns:
            Tensor: The scalar loss.
        """
        if student_logits.shape != teacher_logits.shape or \
                student_logits.dim() != 2:
            raise ValueError(
                'student and teacher logits must both be (N, C), but got '
                f'{tuple(student_logits.shape)} and '
                f'{tuple(teacher_logits.shape)}')
        t = self.temperature
        log_p_s = F.log_softmax(upcast(student_logits) / t, dim=1)
        log_p_t = F.log_softmax(
            upcast(teacher_logits.detach()).to(log_p_s.dtype) / t, dim=1)
        kl = F.kl_div(log_p_s, log_p_t, reduction='sum', log_target=True)
        return self.loss_weight * (t**2) * kl / student_logits.size(0)
