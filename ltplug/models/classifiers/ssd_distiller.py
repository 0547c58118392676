# Copyright (c) ltplug contributors. All rights reserved.
"""SSD stage III (Li, Wang, Wu, ICCV 2021, the official ``SDL`` of
``ssd_stage_iii.py``): a new student with a hard and a soft linear head,
trained from scratch on the labels and on the online logits of the frozen
stage-II (LWS-calibrated) teacher."""
import copy
import os.path as osp
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.logging import MMLogger
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ltplug.models.utils.teacher import (build_frozen_model,
                                         drop_prefixed_keys, norm_signature,
                                         teacher_model_cfg)

from .teacher_files import missing_teacher_file

__all__ = ['SSDDistiller']

TEACHER_PREFIX = 'teacher.'
BN_MODES = ('train', 'eval')
PREDICT_HEADS = ('soft', 'hard')
HEAD_LOGITS_KEY = 'expert_logits'


@MODELS.register_module()
class SSDDistiller(ImageClassifier):
    """SSD self-distillation: student with hard + soft heads, frozen teacher.

    The student (``backbone`` -> ``neck`` -> two linear heads on the same
    feature, from scratch) is trained with ``loss_hard`` = CE of ``head``
    (the hard head) and ``loss_kd`` = ``kd_loss(soft_head logits, teacher
    logits)`` (:class:`KDLoss`, T = 2, weight 1). The teacher's logits are
    computed online under ``torch.no_grad`` on the **same** preprocessed
    batch; for the SSD chain the teacher is the stage-II model (the stage-I
    encoder + the LWS head), so its logits are the calibrated ``s * (W f +
    b)``.

    The teacher is built inside the model from ``teacher['config']`` (a
    config file, whose ``model`` is used, or a model dict) and loaded from
    ``teacher['checkpoint']`` once, at construction
    (:func:`build_frozen_model`): a missing file, a checkpoint whose keys or
    shapes do not fit, or a teacher classifying another number of classes
    raises there, naming the file and the mismatch. Its parameters have
    ``requires_grad=False``; :meth:`init_weights` (the Runner's) restores
    the teacher after initialising the student, so it is never
    re-initialised. DDP ignores the teacher's parameters and buffers
    (``_ddp_params_and_buffers_to_ignore``) and, with any ``paramwise_cfg``
    in the optimizer config, MMEngine leaves them out of the optimizer.

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
    ``ImageClassifier`` plus ``soft_head.*``), and a loaded state dict
    without teacher keys leaves the teacher as built. Build with
    ``teacher=None`` to evaluate a student without the teacher files.

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
        teacher (dict, optional): ``dict(config=..., checkpoint=...)``.
        neck (dict, optional): Student neck config. Defaults to None.
        soft_head (dict, optional): Soft head config. Defaults to None (a
            copy of ``head``).
        kd_loss (dict): Distillation loss config. Defaults to
            ``dict(type='KDLoss', temperature=2.0, loss_weight=1.0)``.
        teacher_bn_mode (str): ``'train'`` or ``'eval'``. Defaults to
            'train'.
        predict_head (str): ``'soft'`` or ``'hard'``. Defaults to 'soft'.
        save_teacher (bool): Keep the teacher in ``state_dict()``.
            Defaults to False.
        check_preprocessor (bool): Refuse a teacher whose data preprocessor
            normalises pixels differently. Defaults to True.
        pretrained (str, optional): Passed to ``ImageClassifier``.
        train_cfg (dict, optional): Passed to ``ImageClassifier``.
        data_preprocessor (dict, optional): Passed to ``ImageClassifier``.
        init_cfg (dict, optional): Student initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 teacher: Optional[dict],
                 neck: Optional[dict] = None,
                 soft_head: Optional[dict] = None,
                 kd_loss: dict = dict(
                     type='KDLoss', temperature=2.0, loss_weight=1.0),
                 teacher_bn_mode: str = 'train',
                 predict_head: str = 'soft',
                 save_teacher: bool = False,
                 check_preprocessor: bool = True,
                 pretrained: Optional[str] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if teacher_bn_mode not in BN_MODES:
            raise ValueError(f'teacher_bn_mode must be one of {BN_MODES}, '
                             f'but got {teacher_bn_mode!r}')
        if predict_head not in PREDICT_HEADS:
            raise ValueError(f'predict_head must be one of {PREDICT_HEADS}, '
                             f'but got {predict_head!r}')
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            train_cfg=train_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.soft_head = MODELS.build(
            copy.deepcopy(soft_head if soft_head is not None else head))
        self.kd_loss = kd_loss if isinstance(kd_loss, nn.Module) else \
            MODELS.build(kd_loss)
        self.teacher_bn_mode = teacher_bn_mode
        self.predict_head = predict_head
        self.save_teacher = save_teacher
        self.num_classes = getattr(self.head, 'num_classes', None)
        soft_classes = getattr(self.soft_head, 'num_classes', None)
        if soft_classes != self.num_classes:
            raise ValueError(f'the soft head classifies {soft_classes} '
                             f'classes but the hard head {self.num_classes}')

        self.teacher = None
        #: why the teacher was not built (a missing file), raised by
        #: :meth:`init_weights` and :meth:`loss`; None when built or absent
        self.missing_teacher: Optional[str] = None
        if teacher is None:
            MMLogger.get_current_instance().warning(
                'SSDDistiller built without a teacher: it can only predict')
        else:
            self.teacher = self._build_teacher(teacher, check_preprocessor)
        if self.teacher is not None:
            self._ddp_params_and_buffers_to_ignore = [
                TEACHER_PREFIX + n for n, _ in self.teacher.named_parameters()
            ] + [TEACHER_PREFIX + n for n, _ in self.teacher.named_buffers()]
        self._register_state_dict_hook(self._drop_teacher_keys)
        self.register_load_state_dict_pre_hook(self._fill_teacher_keys)

    # ------------------------------------------------------------ building
    def _build_teacher(self, spec: dict,
                       check_preprocessor: bool) -> Optional[nn.Module]:
        if not isinstance(spec, (dict, ConfigDict)):
            raise TypeError('teacher must be a dict with `config` and '
                            f'`checkpoint`, but got {spec!r}')
        unknown = set(spec) - {'config', 'checkpoint'}
        if unknown:
            raise KeyError(f'SSD teacher: unknown key(s) {sorted(unknown)}; '
                           'expected config and checkpoint')
        if spec.get('config') is None:
            raise KeyError('SSD teacher: no `config` given')
        checkpoint = spec.get('checkpoint')
        if not checkpoint:
            raise ValueError(
                f'SSD teacher: no `checkpoint` given (got {checkpoint!r}); '
                'train stage II first and name its checkpoint')
        config = spec['config']
        name = 'SSD teacher' + (f' ("{osp.basename(config)}")'
                                if isinstance(config, str) else '')
        missing = missing_teacher_file(name, config, checkpoint)
        if missing is not None:
            # prediction / testing a student checkpoint needs no teacher;
            # training raises this message (init_weights, loss)
            self.missing_teacher = missing
            MMLogger.get_current_instance().warning(
                f'SSDDistiller built without its teacher ({missing}): it '
                'can predict and be tested, not trained')
            return None
        model_cfg = teacher_model_cfg(config, name)
        # the previous stage's init_checkpoint is not needed: the teacher's
        # own checkpoint holds every weight
        if 'init_checkpoint' in model_cfg:
            model_cfg['init_checkpoint'] = None
        if 'frozen_bn_mode' in model_cfg:
            # one switch: the teacher's own (stage-II) BN mode follows
            model_cfg['frozen_bn_mode'] = self.teacher_bn_mode
        teacher = build_frozen_model(
            model_cfg,
            checkpoint,
            name=name,
            num_classes=self.num_classes)
        if check_preprocessor and hasattr(teacher, 'data_preprocessor'):
            mine = norm_signature(self.data_preprocessor)
            theirs = norm_signature(teacher.data_preprocessor)
            if mine != theirs:
                raise ValueError(
                    f'{name}: its data preprocessor (normalise, mean, std, '
                    f'to_rgb) = {theirs} differs from the student\'s {mine}; '
                    'the teacher sees the student\'s preprocessed batch '
                    '(or pass check_preprocessor=False)')
        if self.teacher_bn_mode == 'eval':
            teacher.eval()
        return teacher

    def init_weights(self) -> None:
        """Initialise the student; the teacher keeps its loaded weights.

        Raises:
            FileNotFoundError: When the teacher was not built because its
                config or checkpoint file is missing (the Runner calls this
                before training, so training stops before its first step).
        """
        if self.missing_teacher is not None:
            raise FileNotFoundError(self.missing_teacher)
        if self.teacher is None:
            super().init_weights()
            return
        saved = {k: v.clone() for k, v in self.teacher.state_dict().items()}
        super().init_weights()
        self.teacher.load_state_dict(saved)

    # ------------------------------------------------------- state dicts
    def _drop_teacher_keys(self, module: nn.Module, state_dict: dict,
                           prefix: str, local_metadata: dict) -> dict:
        if self.save_teacher:
            return state_dict
        return drop_prefixed_keys(state_dict, prefix + TEACHER_PREFIX)

    def _fill_teacher_keys(self, module: nn.Module, state_dict: dict,
                           prefix: str, *args) -> None:
        """Teacher keys absent from a loaded state dict keep their values."""
        if self.teacher is None:
            return
        own = self.teacher.state_dict(
            prefix=prefix + TEACHER_PREFIX, keep_vars=True)
        for key, value in own.items():
            if key not in state_dict:
                state_dict[key] = value.detach()

    # ------------------------------------------------------------ training
    def train(self, mode: bool = True) -> 'SSDDistiller':
        """Set the mode; with ``teacher_bn_mode='eval'`` the teacher stays
        in eval mode."""
        super().train(mode)
        if self.teacher is not None and self.teacher_bn_mode == 'eval':
            self.teacher.eval()
        return self

    @torch.no_grad()
    def teacher_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """The teacher's logits on ``inputs`` (no gradient; the teacher's
        buffers are left unchanged).

        In train mode, the teacher's BatchNorm layers normalise with the
        batch statistics but, for this forward, do not track them
        (``track_running_stats`` is switched off and back on), so neither
        the running statistics nor ``num_batches_tracked`` change: the
        same logits as a tracked train-mode forward, without copying and
        restoring every BN buffer. Buffers of other modules, if any, are
        still saved and restored.
        """
        if self.missing_teacher is not None:
            raise FileNotFoundError(self.missing_teacher)
        if self.teacher is None:
            raise RuntimeError('SSDDistiller has no teacher: it cannot be '
                               'trained (build it with `teacher`)')
        if not self.teacher.training:
            return self.teacher(inputs, mode='tensor')
        untracked = []
        bn_buffers = set()
        for module in self.teacher.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                bn_buffers.update(
                    id(b) for b in module.buffers(recurse=False))
                if module.training and module.track_running_stats:
                    module.track_running_stats = False
                    untracked.append(module)
        others = [(b, b.clone()) for b in self.teacher.buffers()
                  if id(b) not in bn_buffers]
        try:
            logits = self.teacher(inputs, mode='tensor')
        finally:
            for module in untracked:
                module.track_running_stats = True
            for buf, saved in others:
                buf.copy_(saved)
        return logits

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
        logits = both[:, 0] if self.predict_head == 'hard' else both[:, 1]
        scores = F.softmax(logits, dim=1)
        labels = scores.argmax(dim=1, keepdim=True).detach()
        if data_samples is None:
            data_samples = [None] * logits.size(0)
        out = []
        for ds, score, label, per_head in zip(data_samples, scores, labels,
                                              both):
            if ds is None:
                ds = DataSample()
            ds.set_pred_score(score).set_pred_label(label)
            ds.set_field(per_head.detach(), HEAD_LOGITS_KEY)
            out.append(ds)
        return out
