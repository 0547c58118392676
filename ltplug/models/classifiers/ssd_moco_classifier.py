# Copyright (c) ltplug contributors. All rights reserved.
"""Stage I of SSD (Li, Wang, Wu, "Self Supervision to Distillation for
Long-Tailed Visual Recognition", ICCV 2021, https://arxiv.org/abs/2109.04075):
cross-entropy on the query view plus MoCo with a label-aware queue
(the official ``SSD_LT/builder.py::SSFL``)."""
import copy
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import get_world_size
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ltplug.models.utils.moco import (KeyQueue, concat_all_gather,
                                      copy_online_to_ema, ema_update_pairs,
                                      first_view,
                                      projection_mlp, shuffled_keys)
from ltplug.utils.validate import check_bool, check_number

__all__ = ['SSDMoCoClassifier', 'ssd_queue_size']


def ssd_queue_size(num_train: int, global_batch: int) -> int:
    """The SSD queue size: the largest multiple of the global batch that does
    not exceed the training-set size (a queue spanning about one epoch).

    ImageNet-LT: ``ssd_queue_size(115846, 256) == 115712`` (the official K).

    Args:
        num_train (int): Number of training images.
        global_batch (int): Batch size summed over all ranks.

    Returns:
        int: ``(num_train // global_batch) * global_batch``.
    """
    if global_batch <= 0 or num_train < global_batch:
        raise ValueError(
            f'need 0 < global_batch <= num_train, but got global_batch='
            f'{global_batch}, num_train={num_train}')
    return (num_train // global_batch) * global_batch


@MODELS.register_module()
class SSDMoCoClassifier(ImageClassifier):
    """SSD stage I: supervised classification + label-aware MoCo.

    The query encoder is this classifier's ``backbone`` + ``neck`` (global
    average pooling). Its pooled feature ``f`` feeds the linear classifier
    ``head`` (cross-entropy on the **query view**, ``loss_cls``) and the
    query projection ``query_proj = Linear(d, h) - ReLU - Linear(h, dim)``.
    The key encoder (``key_backbone`` + ``key_neck``) and ``key_proj`` are
    EMA copies (momentum ``momentum``, 0.999), started as copies of the
    query modules and updated before every key forward, as in MoCo (the
    EMA step and the key forward run before the query forward, which they
    do not depend on). The keys of the second view go into a queue of
    ``queue_size`` keys kept **with their labels** (:class:`KeyQueue`
    buffers, so checkpoints and resumed runs keep the queue).
    ``contrast_loss`` (:class:`LabelAwareMoCoLoss`, T = 0.2) drops queue
    entries of the query's class from the denominator and gives
    ``loss_contrast``.

    Inputs: ``[query_view, key_view]`` (MMPretrain's ``MultiView`` with
    ``num_views=[1, 1]`` and two transform lists, ``PackInputs``,
    ``default_collate`` and ``SelfSupDataPreprocessor``). Prediction (val /
    test) is a plain classifier on the query encoder: a single-view batch,
    or the first view of a list.

    Distributed training: the keys and their labels are all-gathered
    (``concat_all_gather``) before being queued, so every rank keeps the
    same queue. Batch-shuffle BN (``shuffle_bn=True``): the key view is
    shuffled across ranks before the key encoder and un-shuffled after it
    (MMPretrain's ``batch_shuffle_ddp``, as the official code), so the key
    encoder's BN statistics never come from the same images as the query's.
    On one process it permutes the batch, which changes nothing.

    Queue size: the official code asserts ``K % global_batch == 0``. With
    ``batch_size`` (the per-rank batch of the train dataloader) the model
    checks ``queue_size % (batch_size * world_size) == 0`` when it is built;
    every step also checks the number of gathered keys divides the queue.
    :func:`ssd_queue_size` gives the value that spans about one epoch.

    Args:
        backbone (dict): Query encoder backbone config.
        neck (dict): Pooling config (``GlobalAveragePooling``).
        head (dict): Linear classifier config (``LinearClsHead``).
        queue_size (int): Number of queued keys ``K``.
        feat_dim (int, optional): Width ``d`` of the pooled feature.
            Defaults to None (the head's ``in_channels``).
        hidden_dim (int, optional): Hidden width ``h`` of the projections.
            Defaults to None (``feat_dim``: 2048-2048-128 for ResNet-50).
        proj_dim (int): Key width. Defaults to 128.
        momentum (float): EMA momentum of the key encoder and key
            projection. Defaults to 0.999.
        shuffle_bn (bool): Batch-shuffle BN for the key forward.
            Defaults to True.
        batch_size (int, optional): Per-rank train batch size, for the
            build-time queue check. Defaults to None (checked at the first
            step only).
        contrast_loss (dict): Contrastive loss config. Defaults to
            ``dict(type='LabelAwareMoCoLoss', temperature=0.2)``.
        pretrained (str, optional): Passed to ``ImageClassifier``.
        train_cfg (dict, optional): Passed to ``ImageClassifier``.
        data_preprocessor (dict, optional): Training needs a two-view
            preprocessor (``SelfSupDataPreprocessor``). Defaults to None
            (``ClsDataPreprocessor``, enough for testing).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 queue_size: int,
                 feat_dim: Optional[int] = None,
                 hidden_dim: Optional[int] = None,
                 proj_dim: int = 128,
                 momentum: float = 0.999,
                 shuffle_bn: bool = True,
                 batch_size: Optional[int] = None,
                 contrast_loss: dict = dict(
                     type='LabelAwareMoCoLoss', temperature=0.2),
                 pretrained: Optional[str] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if isinstance(data_preprocessor, dict) and data_preprocessor.get(
                'type', 'ClsDataPreprocessor') != 'ClsDataPreprocessor':
            # e.g. SelfSupDataPreprocessor, which takes no batch_augments
            data_preprocessor = MODELS.build(copy.deepcopy(data_preprocessor))
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            train_cfg=train_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        queue_size = check_number('queue_size', queue_size, integer=True,
                                  min=1, owner='SSDMoCoClassifier')
        momentum = check_number('momentum', momentum, min=0., max=1.,
                                owner='SSDMoCoClassifier')
        shuffle_bn = check_bool('shuffle_bn', shuffle_bn,
                                owner='SSDMoCoClassifier')
        if feat_dim is None:
            feat_dim = head.get('in_channels')
            if feat_dim is None:
                raise ValueError('feat_dim is needed when the head config has '
                                 'no in_channels')
        hidden_dim = hidden_dim or feat_dim
        self.queue_size = queue_size
        self.momentum = float(momentum)
        self.shuffle_bn = bool(shuffle_bn)
        self.batch_size = batch_size
        if batch_size is not None:
            self.check_queue_size(batch_size * get_world_size())

        self.key_backbone = MODELS.build(copy.deepcopy(backbone))
        self.key_neck = MODELS.build(copy.deepcopy(neck))
        self.query_proj = projection_mlp(feat_dim, hidden_dim, proj_dim)
        self.key_proj = projection_mlp(feat_dim, hidden_dim, proj_dim)
        self.queue = KeyQueue(queue_size, proj_dim, with_labels=True)
        for module in self._key_modules():
            for p in module.parameters():
                p.requires_grad_(False)
        self.contrast_loss = contrast_loss if isinstance(
            contrast_loss, nn.Module) else MODELS.build(contrast_loss)

    def check_queue_size(self, global_batch: int) -> None:
        """Raise unless ``queue_size`` is a multiple of ``global_batch``.

        Args:
            global_batch (int): Keys enqueued per step (all ranks).
        """
        if global_batch > 0 and self.queue_size % global_batch == 0:
            return
        world = get_world_size()
        fit = max(self.queue_size // max(global_batch, 1), 1) * global_batch
        raise ValueError(
            f'SSD queue_size={self.queue_size} must be a multiple of the '
            f'global batch size {global_batch} (per-rank batch '
            f'{global_batch // max(world, 1)} x world size {world}), as the '
            f'official code asserts; e.g. queue_size={fit} '
            '(ssd_queue_size(num_train, global_batch) spans about one epoch)')

    def _key_modules(self) -> List[nn.Module]:
        return [self.key_backbone, self.key_neck, self.key_proj]

    def _ema_pairs(self) -> List[tuple]:
        return [(self.backbone, self.key_backbone),
                (self.neck, self.key_neck), (self.query_proj, self.key_proj)]

    def init_weights(self) -> None:
        """Initialise; the key modules start as copies of the query ones."""
        super().init_weights()
        copy_online_to_ema(self._ema_pairs())

    @torch.no_grad()
    def momentum_update(self) -> None:
        """EMA update of the key encoder and key projection (one fused
        pass over all their parameters)."""
        ema_update_pairs(self._ema_pairs(), self.momentum)

    def forward(self,
                inputs: Union[torch.Tensor, List[torch.Tensor]],
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """``'tensor'``: logits of the query view; ``'loss'``: losses;
        ``'predict'``: data samples (query encoder + linear head)."""
        if mode == 'tensor':
            feats = self.extract_feat(first_view(inputs))
            return self.head(feats) if self.with_head else feats
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(first_view(inputs), data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    @torch.no_grad()
    def _keys(self, key_view: torch.Tensor) -> torch.Tensor:
        self.momentum_update()

        def encode(view: torch.Tensor) -> List[torch.Tensor]:
            return [self.key_proj(self.key_neck(self.key_backbone(view))[-1])]

        return shuffled_keys(encode, key_view, self.shuffle_bn)[0]

    def loss(self, inputs: List[torch.Tensor],
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """``loss_cls`` (CE on the query view) and ``loss_contrast``.

        Args:
            inputs (list[Tensor]): ``[query_view, key_view]``.
            data_samples (list[DataSample]): With ``gt_label``.

        Returns:
            dict[str, Tensor]: The losses (and the head's extra logs).
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(
                'SSD stage I needs two views per image (inputs=[query, key]): '
                'use MultiView(num_views=[1, 1]) with PackInputs, '
                'default_collate and SelfSupDataPreprocessor')
        q_view, k_view = inputs[0], inputs[1]
        # The keys (EMA update, then the key encoder) do not depend on the
        # query forward, so they come first: their no-grad forward then
        # runs while no graph is alive rather than on top of the query
        # encoder's (a lower peak; on CPU, glibc otherwise returns and
        # re-faults that memory every step).
        k = self._keys(k_view)
        feats = self.extract_feat(q_view)
        losses = dict(self.head.loss(feats, data_samples))
        losses['loss_cls'] = losses.pop('loss')
        labels = torch.cat([ds.gt_label for ds in data_samples]).to(
            q_view.device)
        q = F.normalize(self.query_proj(feats[-1]), dim=1)
        # the loss sees the queue before this step's enqueue (a snapshot
        # of the keys; the labels only build a mask and are not copied)
        losses['loss_contrast'] = self.contrast_loss(
            q, k, labels, self.queue.snapshot(), self.queue.labels)
        all_keys = concat_all_gather(k)
        all_labels = concat_all_gather(labels)
        self.check_queue_size(all_keys.size(0))
        self.queue.enqueue(all_keys, all_labels)
        return losses
