# Copyright (c) ltplug contributors. All rights reserved.
"""NIL + NBOD loss of Nested Collaborative Learning (Li et al., CVPR 2022,
https://arxiv.org/abs/2203.15359)."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from ltplug.datasets.utils import check_class_counts
from ltplug.models.utils.logit_adjust import logit_adjust, upcast
from ltplug.utils.validate import check_number

from .utils import register_class_prior, store_class_prior

HCM_MASK_MODES = ('zero', 'neg_inf')


@MODELS.register_module()
class NCLLoss(nn.Module):
    """Nested Individual Learning + Nested Balanced Online Distillation.

    With ``E`` experts' logits ``z_e`` (``B x C``) and the training counts
    ``n``, the balanced logits are ``z~_e = z_e + log n``. The hard
    categories of each sample are the ``hcm_n`` largest entries of expert
    0's **raw** logits with the ground truth forced in (so ``hcm_n - 1``
    hard negatives); the same mask serves every expert. ``z^_e`` are the
    balanced logits restricted to the hard categories (see ``hcm_mask``).

    - NIL ``= sum_e [ce_ratio * CE(z~_e, y) + hcm_ratio * CE(z^_e, y)]``
      (batch mean, summed over experts).
    - NBOD ``= diversity_factor / (E - 1) * sum_{i != j} KL(p_j || p_i)``
      on the full balanced logits plus the same with
      ``diversity_factor_hcm`` on the hard-category logits, where
      ``p = softmax(.)`` (T = 1), ``log p_i`` is taken as
      ``log(p_i + 1e-9)`` and the KL is averaged over the batch. Neither
      side is detached: every expert learns from every other one.

    The counts may be given here or set before training by
    :class:`ltplug.engine.ClassCountsHook` (``set_class_counts``).

    Mixed precision: the counts are kept as int64 and their log as an fp32
    buffer (``log_prior``); fp16/bf16 expert logits are cast to fp32 first,
    so the balanced logits, softmaxes, ``log(p + eps)`` (``eps = 1e-9`` is
    0 in fp16) and every returned loss are fp32.

    Args:
        hcm_n (int): Hard categories kept per sample, counting the ground
            truth (>= 2). The official configs use about 30% of the
            classes (30 for CIFAR-100, 300 for ImageNet-LT, 122 for
            Places-LT, 2442 for iNaturalist 2018).
        class_counts (Sequence[int], optional): Training images per class.
            Defaults to None.
        ce_ratio (float): Weight of the full-logit CE. Defaults to 1.0.
        hcm_ratio (float): Weight of the hard-category CE. Defaults to 1.0.
        diversity_factor (float): NBOD weight on the full logits.
            Defaults to 0.6.
        diversity_factor_hcm (float): NBOD weight on the hard-category
            logits. Defaults to 0.6.
        hcm_mask (str): How the unselected categories are removed.
            ``'zero'``: their balanced logits are multiplied by 0, so each
            still adds ``e^0`` to the partition function (the official
            code; use it to reproduce the released numbers). ``'neg_inf'``:
            they are set to ``-inf``, i.e. the softmax runs over the hard
            categories only (the paper's description). Defaults to 'zero'.
        eps (float): Added to the softmax before the log in NBOD.
            Defaults to 1e-9.
        loss_weight (float): Multiplies every returned loss.
            Defaults to 1.0.
    """

    def __init__(self,
                 hcm_n: int,
                 class_counts: Optional[Sequence[int]] = None,
                 ce_ratio: float = 1.,
                 hcm_ratio: float = 1.,
                 diversity_factor: float = 0.6,
                 diversity_factor_hcm: float = 0.6,
                 hcm_mask: str = 'zero',
                 eps: float = 1e-9,
                 loss_weight: float = 1.) -> None:
        super().__init__()
        owner = type(self).__name__
        # hard categories kept, counting the ground truth
        hcm_n = check_number('hcm_n', hcm_n, integer=True, min=2, owner=owner)
        if hcm_mask not in HCM_MASK_MODES:
            raise ValueError(f'hcm_mask must be one of {HCM_MASK_MODES}, but '
                             f'got {hcm_mask!r}')
        self.hcm_n = hcm_n
        self.ce_ratio = check_number('ce_ratio', ce_ratio, min=0, owner=owner)
        self.hcm_ratio = check_number('hcm_ratio', hcm_ratio, min=0,
                                      owner=owner)
        self.diversity_factor = check_number(
            'diversity_factor', diversity_factor, min=0, owner=owner)
        self.diversity_factor_hcm = check_number(
            'diversity_factor_hcm', diversity_factor_hcm, min=0, owner=owner)
        self.hcm_mask = hcm_mask
        self.eps = check_number('eps', eps, min=0, min_inclusive=False,
                                owner=owner)
        self.loss_weight = check_number('loss_weight', loss_weight, min=0,
                                        owner=owner)
        register_class_prior(self)
        if class_counts is not None:
            self.set_class_counts(class_counts)

    @property
    def num_classes(self) -> Optional[int]:
        """Number of classes, or None before the counts are set."""
        n = self.class_counts.numel()
        return n if n else None

    def set_class_counts(self, class_counts: Sequence[int]) -> None:
        """Set the training counts (every class needs at least one image).

        Args:
            class_counts (Sequence[int]): Training images per class.
        """
        counts = check_class_counts(class_counts)
        if self.hcm_n > counts.size:
            raise ValueError(f'hcm_n={self.hcm_n} exceeds the number of '
                             f'classes ({counts.size})')
        store_class_prior(self, counts)

    def hard_category_mask(self, logits: torch.Tensor,
                           target: torch.Tensor) -> torch.Tensor:
        """Boolean ``(B, C)`` mask of the ``hcm_n`` hard categories.

        The ground truth is always selected, then the ``hcm_n - 1`` largest
        other entries of ``logits``.
        """
        scores = logits.detach().scatter(
            1, target.unsqueeze(1), float('inf'))
        top = scores.topk(self.hcm_n, dim=1).indices
        return torch.zeros_like(scores, dtype=torch.bool).scatter_(
            1, top, True)

    def _mutual_kl(self,
                   logits: Sequence[torch.Tensor],
                   keep: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``sum_{i != j} KL(p_j || p_i) / (E - 1)`` (batch mean).

        ``log p_i`` is ``log(p_i + eps)``; ``log p_j`` is exact. ``keep``
        (bool, ``B x C``) restricts the sum to the kept categories, which is
        needed with ``-inf`` logits (``p_j = 0``) to keep gradients finite.
        """
        probs = [F.softmax(z, dim=1) for z in logits]
        log_probs = [F.log_softmax(z, dim=1) for z in logits]
        if keep is not None:
            log_probs = [lp.masked_fill(~keep, 0.) for lp in log_probs]
        log_probs_eps = [torch.log(p + self.eps) for p in probs]
        total = logits[0].new_zeros(())
        for i, log_q in enumerate(log_probs_eps):
            for j, (p_j, log_p_j) in enumerate(zip(probs, log_probs)):
                if i != j:
                    kl = (p_j * (log_p_j - log_q)).sum(dim=1)
                    total = total + kl.mean()
        return total / (len(logits) - 1)

    def forward(self, expert_logits: Sequence[torch.Tensor],
                target: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Compute the loss.

        Args:
            expert_logits (Sequence[Tensor]): ``E >= 2`` raw logits, each
                ``(B, C)``; expert 0 mines the hard categories.
            target (Tensor): ``(B,)`` integer labels.

        Returns:
            dict[str, Tensor]: ``loss_nil`` and ``loss_nbod`` (their sum is
            the NCL loss; MMEngine sums every key containing ``loss``), and
            the detached parts ``nil_ce``, ``nil_hcm``, ``nbod_full`` and
            ``nbod_hcm`` for logging.
        """
        if self.class_counts.numel() == 0:
            raise RuntimeError(
                'NCLLoss has no class counts: pass class_counts or add '
                "dict(type='ClassCountsHook') to custom_hooks")
        num_experts = len(expert_logits)
        if num_experts < 2:
            raise ValueError('NCLLoss needs the logits of at least 2 '
                             f'experts, but got {num_experts}')
        if target.dim() != 1:
            raise ValueError('NCLLoss needs integer labels of shape (B,), '
                             f'but got a target of shape {tuple(target.shape)}'
                             ' (soft targets are not supported)')
        shapes = {tuple(z.shape) for z in expert_logits}
        if len(shapes) != 1:
            raise ValueError(f'all experts must give logits of the same '
                             f'shape, but got {sorted(shapes)}')
        num_classes = expert_logits[0].size(1)
        if num_classes != self.class_counts.numel():
            raise ValueError(f'logits have {num_classes} classes but there '
                             f'are {self.class_counts.numel()} class counts')
        target = target.long()
        # fp16 / bf16 logits are cast to fp32 (fp64 stays fp64)
        expert_logits = [upcast(z) for z in expert_logits]
        mask = self.hard_category_mask(expert_logits[0], target)

        balanced, hard = [], []
        ce = hcm = expert_logits[0].new_zeros(())
        for z in expert_logits:
            z_bal = logit_adjust(
                z, self.class_counts, log_prior=self.log_prior)
            if self.hcm_mask == 'zero':
                z_hard = z_bal * mask
            else:
                z_hard = z_bal.masked_fill(~mask, float('-inf'))
            balanced.append(z_bal)
            hard.append(z_hard)
            ce = ce + F.cross_entropy(z_bal, target)
            hcm = hcm + F.cross_entropy(z_hard, target)

        nbod_full = self._mutual_kl(balanced)
        nbod_hcm = self._mutual_kl(
            hard, keep=mask if self.hcm_mask == 'neg_inf' else None)
        w = self.loss_weight
        return dict(
            loss_nil=w * (self.ce_ratio * ce + self.hcm_ratio * hcm),
            loss_nbod=w * (self.diversity_factor * nbod_full +
                           self.diversity_factor_hcm * nbod_hcm),
            nil_ce=ce.detach(),
            nil_hcm=hcm.detach(),
            nbod_full=nbod_full.detach(),
            nbod_hcm=nbod_hcm.detach())
