# Copyright (c) ltplug contributors. All rights reserved.
"""Multi-expert classifier of Nested Collaborative Learning (Li et al.,
CVPR 2022, https://arxiv.org/abs/2203.15359), with the optional per-expert
MoCo branch of the official code."""
import copy
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import ModuleList
from mmpretrain.models.classifiers import BaseClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ltplug.models.utils.data_sample import (EXPERT_LOGITS_KEY,
                                             pack_multi_logit_predictions)
from ltplug.models.utils.moco import (MOCO_MODES, KeyQueue, check_moco_cfg,
                                      concat_all_gather, copy_online_to_ema,
                                      ema_update_pairs, first_view, info_nce,
                                      projection_mlp, shuffled_keys)

__all__ = ['NCLMultiExpertClassifier', 'MOCO_MODES', 'EXPERT_LOGITS_KEY']


@MODELS.register_module()
class NCLMultiExpertClassifier(BaseClassifier):
    """``E`` independent backbone + neck + head stacks trained with NCL.

    Every expert receives the **same** preprocessed batch (the data is
    loaded, augmented and normalised once); the experts share no layer.
    Training returns the loss dict of ``loss`` (:class:`NCLLoss`, called
    with the list of the experts' raw logits and the labels), plus
    ``loss_moco`` when self-supervision is on. At test time the prediction
    is the mean of the experts' **raw** logits, and each data sample also
    carries ``expert_logits`` (``E x C``) so that
    :class:`ltplug.evaluation.ExpertAccuracy` can score every expert and
    find the best single one.

    Optional self-supervision (``moco``, as ``multi_Network_MOCO`` of the
    official code): each expert gets an EMA copy of its backbone and neck,
    a query head ``Linear(d, d) - ReLU - Linear(d, dim)`` on its pooled
    feature, a key head of the same shape on the EMA feature, and a queue
    of ``queue_size`` keys (no labels). The loss is InfoNCE
    ``CE([q.k, q.Queue] / T, 0)`` summed over experts. The second view is
    ``inputs[1]`` (a two-view pipeline, e.g. MMPretrain's ``MultiView``
    with ``SelfSupDataPreprocessor``); ``inputs[0]`` is the classification
    view. Keys are batch-shuffled across ranks for the EMA forward. The
    keys are computed before the online forward (they do not depend on
    it; the batch-shuffle permutation is therefore drawn from the RNG
    before any random layer of the online forward).

    ``moco_mode`` chooses between the released code and standard MoCo:

    - ``'official'`` (reproduction): the EMA backbones are initialised
      independently (not copied from the online ones), the key head is
      random and never updated, and the EMA is applied ``E`` times per step
      to every expert after the forward, before the backward - exactly
      where the official code applies it. The online weights do not change
      between those ``E`` updates, so they are applied as **one** update
      with momentum ``m ** E`` (the same in exact arithmetic; in float32
      it differs from ``E`` successive updates by rounding only, a few
      ulp per step).
    - ``'corrected'``: MoCo as published - the EMA backbone, neck and key
      head start as copies of the online ones and are all updated once per
      step with momentum ``m``, before the keys are computed.

    Args:
        backbone (dict): Config of one expert's backbone (built ``E``
            times).
        head (dict): Config of one expert's classification head, e.g.
            ``LinearClsHead`` or ``CosineClsHead`` (only its ``forward`` is
            used; its ``loss`` module is ignored).
        neck (dict, optional): Config of one expert's neck. Defaults to
            None.
        num_experts (int): Number of experts ``E`` (>= 2). Defaults to 3.
        loss (dict): Config of the multi-expert loss.
            Defaults to ``dict(type='NCLLoss', hcm_n=30)``.
        moco (dict, optional): Self-supervision settings, None to disable.
            Keys: ``queue_size`` (K), ``dim`` (key width), ``temperature``
            (0.2), ``momentum`` (0.999), ``loss_weight`` (1.0),
            ``feat_dim`` (d; defaults to ``head['in_channels']``),
            ``shuffle_bn`` (True). Defaults to None.
        moco_mode (str): ``'official'`` or ``'corrected'`` (see above).
            Defaults to 'official'.
        pretrained (str, optional): Checkpoint of the whole model.
            Defaults to None.
        data_preprocessor (dict, optional): Defaults to
            ``dict(type='ClsDataPreprocessor')``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 num_experts: int = 3,
                 loss: dict = dict(type='NCLLoss', hcm_n=30),
                 moco: Optional[dict] = None,
                 moco_mode: str = 'official',
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if pretrained is not None:
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        data_preprocessor = data_preprocessor or {}
        if isinstance(data_preprocessor, dict):
            data_preprocessor = copy.deepcopy(data_preprocessor)
            data_preprocessor.setdefault('type', 'ClsDataPreprocessor')
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            init_cfg=init_cfg, data_preprocessor=data_preprocessor)

        if isinstance(num_experts, bool) or not isinstance(
                num_experts, int) or num_experts < 2:
            raise ValueError('NCL needs at least 2 experts, but got '
                             f'num_experts={num_experts!r}')
        if moco_mode not in MOCO_MODES:
            raise ValueError(f'moco_mode must be one of {MOCO_MODES}, but '
                             f'got {moco_mode!r}')
        self.num_experts = num_experts
        self.moco_mode = moco_mode

        # MMEngine's ModuleList (not torch's): its init_weights() reaches
        # every expert, so each one's init_cfg (e.g. ImageNet weights) is
        # applied; a plain nn.ModuleList is skipped by MMEngine.
        def build_stack(cfg: Optional[dict]) -> Optional[ModuleList]:
            if cfg is None:
                return None
            return ModuleList(
                MODELS.build(copy.deepcopy(cfg)) for _ in range(num_experts))

        self.backbones = build_stack(backbone)
        self.necks = build_stack(neck)
        self.heads = build_stack(head)

        self.loss_module = loss if isinstance(loss, nn.Module) else \
            MODELS.build(loss)
        num_classes = getattr(self.heads[0], 'num_classes', None)
        hcm_n = getattr(self.loss_module, 'hcm_n', None)
        if num_classes is not None and hcm_n is not None and \
                hcm_n > num_classes:
            raise ValueError(f'hcm_n={hcm_n} exceeds the number of classes '
                             f'of the head ({num_classes})')
        self.num_classes = num_classes

        self.with_moco = moco is not None
        if self.with_moco:
            self._build_moco(dict(moco), backbone, neck, head)

    # ------------------------------------------------------------------
    # construction helpers
    def _build_moco(self, moco: dict, backbone: dict, neck: Optional[dict],
                    head: dict) -> None:
        cfg = check_moco_cfg(moco, head, owner='NCLMultiExpertClassifier')
        self.moco_temperature = cfg['temperature']
        self.moco_momentum = cfg['momentum']
        self.moco_loss_weight = cfg['loss_weight']
        self.moco_shuffle_bn = cfg['shuffle_bn']
        feat_dim, dim, size = cfg['feat_dim'], cfg['dim'], cfg['queue_size']
        n = self.num_experts
        # EMA copies get their own init_cfg too (the official 'official'
        # mode does not copy them from the experts)
        self.ema_backbones = ModuleList(
            MODELS.build(copy.deepcopy(backbone)) for _ in range(n))
        self.ema_necks = None if neck is None else ModuleList(
            MODELS.build(copy.deepcopy(neck)) for _ in range(n))
        self.query_heads = nn.ModuleList(
            projection_mlp(feat_dim, feat_dim, dim) for _ in range(n))
        self.key_heads = nn.ModuleList(
            projection_mlp(feat_dim, feat_dim, dim) for _ in range(n))
        self.queues = nn.ModuleList(KeyQueue(size, dim) for _ in range(n))
        for module in self._ema_modules():
            for p in module.parameters():
                p.requires_grad_(False)

    def _ema_modules(self) -> List[nn.Module]:
        """The modules that receive no gradient (EMA copies, key heads)."""
        mods = [self.ema_backbones, self.key_heads]
        if self.ema_necks is not None:
            mods.append(self.ema_necks)
        return mods

    def _ema_pairs(self) -> List[Tuple[nn.Module, nn.Module]]:
        """(online, EMA) module pairs that the momentum update covers.

        The official code updates the backbones (and the parameter-free
        pooling) only; the corrected mode adds the key heads.
        """
        pairs = [(self.backbones, self.ema_backbones)]
        if self.necks is not None:
            pairs.append((self.necks, self.ema_necks))
        if self.moco_mode == 'corrected':
            pairs.append((self.query_heads, self.key_heads))
        return pairs

    def init_weights(self) -> None:
        """Initialise the weights; in ``'corrected'`` MoCo mode the EMA
        copies and key heads then start equal to the online modules."""
        super().init_weights()
        if self.with_moco and self.moco_mode == 'corrected':
            copy_online_to_ema(self._ema_pairs())

    def ema_momentum(self) -> float:
        """The momentum of the one EMA update applied per step.

        ``m`` in ``'corrected'`` mode; ``m ** E`` in ``'official'`` mode,
        whose loop applies ``E`` updates with momentum ``m`` to the
        unchanged online weights, i.e.
        ``e <- m ** E * e + (1 - m ** E) * o``.
        """
        if self.moco_mode == 'official':
            return self.moco_momentum**self.num_experts
        return self.moco_momentum

    @torch.no_grad()
    def momentum_update(self) -> None:
        """Apply the EMA as ``moco_mode`` says: one fused pass over every
        (online, EMA) parameter pair with :meth:`ema_momentum`."""
        ema_update_pairs(self._ema_pairs(), self.ema_momentum())

    # ------------------------------------------------------------------
    # forward
    def _expert_feats(self, inputs: torch.Tensor,
                      idx: int) -> Tuple[torch.Tensor, ...]:
        feats = self.backbones[idx](inputs)
        if self.necks is not None:
            feats = self.necks[idx](feats)
        return feats

    def extract_feat(self,
                     inputs: torch.Tensor) -> List[Tuple[torch.Tensor, ...]]:
        """The neck (or backbone) outputs of every expert.

        Args:
            inputs (Tensor): ``(B, 3, H, W)``.

        Returns:
            list[tuple[Tensor]]: One feature tuple per expert.
        """
        return [self._expert_feats(inputs, i) for i in range(self.num_experts)]

    def expert_logits(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """Raw logits of every expert, a list of ``E`` ``(B, C)`` tensors."""
        return [
            self.heads[i](feats)
            for i, feats in enumerate(self.extract_feat(inputs))
        ]

    def forward(self,
                inputs: Union[torch.Tensor, List[torch.Tensor]],
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """``'tensor'``: the stacked raw logits ``(E, B, C)``;
        ``'loss'``: a dict of losses; ``'predict'``: data samples."""
        if mode == 'tensor':
            return torch.stack(self.expert_logits(first_view(inputs)))
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def loss(self, inputs: Union[torch.Tensor, List[torch.Tensor]],
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Losses of one batch.

        Args:
            inputs (Tensor | list[Tensor]): The batch, or ``[view1, view2]``
                with MoCo (view 2 feeds the EMA encoders).
            data_samples (list[DataSample]): With ``gt_label``.

        Returns:
            dict[str, Tensor]: The loss module's dict, plus ``loss_moco``.
        """
        view = first_view(inputs)
        target = torch.cat([ds.gt_label for ds in data_samples]).to(
            view.device)
        keys = None
        if self.with_moco:
            if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
                raise ValueError(
                    'MoCo needs two views per image (inputs=[view1, view2]):'
                    ' use a MultiView pipeline with SelfSupDataPreprocessor '
                    'and default_collate')
            # The keys do not depend on the online forward, so they are
            # computed first: their no-grad forwards then run while no
            # graph is alive instead of on top of the E experts' graphs
            # (a lower peak; on CPU, glibc otherwise returns and re-faults
            # that memory every step).
            keys = self._moco_keys(inputs[1])
        feats = self.extract_feat(view)
        logits = [self.heads[i](f) for i, f in enumerate(feats)]
        losses = self.loss_module(logits, target)
        if not isinstance(losses, dict):
            losses = dict(loss=losses)
        if self.with_moco:
            losses['loss_moco'] = self._moco_loss([f[-1] for f in feats],
                                                  keys)
        return losses

    @torch.no_grad()
    def _moco_keys(self, key_view: torch.Tensor) -> List[torch.Tensor]:
        """The EMA keys of every expert on the key view (``'corrected'``
        mode applies the momentum update first)."""
        if self.moco_mode == 'corrected':
            self.momentum_update()

        def encode(view: torch.Tensor) -> List[torch.Tensor]:
            keys = []
            for i in range(self.num_experts):
                k = self.ema_backbones[i](view)
                if self.ema_necks is not None:
                    k = self.ema_necks[i](k)
                keys.append(self.key_heads[i](k[-1]))
            return keys

        return shuffled_keys(encode, key_view, self.moco_shuffle_bn)

    def _moco_loss(self, feats: List[torch.Tensor],
                   keys: List[torch.Tensor]) -> torch.Tensor:
        """InfoNCE of every expert; updates the queues and, in
        ``'official'`` mode, the EMA."""
        total = feats[0].new_zeros(())
        for i, feat in enumerate(feats):
            q = F.normalize(self.query_heads[i](feat), dim=1)
            # the queue before this step's enqueue (a snapshot)
            total = total + info_nce(q, keys[i], self.queues[i].snapshot(),
                                     self.moco_temperature)
            self.queues[i].enqueue(concat_all_gather(keys[i]))
        if self.moco_mode == 'official':
            # after the forward, before backward / optimizer step
            self.momentum_update()
        return self.moco_loss_weight * total

    def predict(self,
                inputs: Union[torch.Tensor, List[torch.Tensor]],
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """Predict with the mean of the experts' raw logits.

        Each returned sample has ``pred_score`` (softmax of the mean
        logits), ``pred_label`` and ``expert_logits`` (``E x C``, the raw
        logits of every expert).
        """
        logits = torch.stack(
            self.expert_logits(first_view(inputs)), dim=1)  # B, E, C
        return pack_multi_logit_predictions(
            logits.mean(dim=1), logits, data_samples)
