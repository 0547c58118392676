# Copyright (c) ltplug contributors. All rights reserved.
"""SSD stages II and IV: learnable weight scaling (LWS) on a frozen encoder
and a frozen linear classifier taken from the previous stage's checkpoint
(the official ``SLG`` of ``ssd_stage_ii.py``)."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS

from ltplug.models.utils.teacher import (BN_MODES, check_bn_mode,
                                         read_fitting_state,
                                         set_requires_grad)

__all__ = ['SSDLWSClassifier', 'BN_MODES', 'load_stage_weights']


def load_stage_weights(model: nn.Module,
                       checkpoint: str,
                       prefixes: Sequence[str],
                       name: str = 'previous stage') -> list:
    """Copy the ``prefixes`` entries of a checkpoint into ``model``.

    Under ``prefixes`` the checkpoint must fit exactly (after dropping a DDP
    ``module.`` prefix): every key of ``model.state_dict()`` there is in the
    file with the same shape, and the file has no key there that the model
    lacks (e.g. the extra blocks of a deeper backbone). Keys outside
    ``prefixes`` are the documented partial part: the file's are ignored
    (e.g. stage I's MoCo modules), the model's keep their initialisation
    (e.g. the LWS scales); both are logged. Errors name the file, ``name``
    and the first keys of each kind that do not fit.

    Args:
        model (nn.Module): The model to fill.
        checkpoint (str): The checkpoint path.
        prefixes (Sequence[str]): Key prefixes to load, e.g.
            ``('backbone.', 'neck.', 'head.fc.')``.
        name (str): Used in messages. Defaults to 'previous stage'.

    Returns:
        list[str]: The loaded keys.

    Raises:
        FileNotFoundError: If ``checkpoint`` does not exist.
        CheckpointReadError: If it is empty, truncated or not a checkpoint.
        CheckpointMismatchError: If it does not fit under ``prefixes``.
    """
    prefixes = tuple(prefixes)
    own = model.state_dict()
    wanted = [k for k in own if k.startswith(prefixes)]
    if not wanted:
        raise ValueError(f'{name}: the model has no key starting with '
                         f'{list(prefixes)}')
    # the same read and fit check as a teacher's, under ``prefixes``
    state = read_fitting_state(
        model,
        checkpoint,
        name,
        prefixes=prefixes,
        hint=f'Only keys under {list(prefixes)} are loaded, and there the '
        'checkpoint must be the model of this config (a different number '
        'of classes or architecture?).')
    with torch.no_grad():
        for k in wanted:
            own[k].copy_(state[k])
    kept = [k for k in own if not k.startswith(prefixes)]
    ignored = [k for k in state if not k.startswith(prefixes)]
    MMLogger.get_current_instance().info(
        f'{name}: loaded {len(wanted)} tensors under {list(prefixes)} from '
        f'"{checkpoint}"; {len(kept)} model tensor(s) keep their '
        f'initialisation ({", ".join(kept[:5])}'
        f'{", ..." if len(kept) > 5 else ""}), {len(ignored)} tensor(s) of '
        f'the file are not used ({", ".join(ignored[:5])}'
        f'{", ..." if len(ignored) > 5 else ""})')
    return wanted


@MODELS.register_module()
class SSDLWSClassifier(ImageClassifier):
    """LWS on a frozen encoder: SSD's soft-label generator (stage II) and
    the optional stage IV.

    ``backbone`` + ``neck`` + the head's ``fc`` (:class:`LWSHead`,
    ``logits = s * (W f + b)``) are loaded from ``init_checkpoint`` and
    frozen (``requires_grad=False``); only the per-class scales ``s`` train.
    Loading happens in :meth:`init_weights` (the Runner calls it before the
    first training step, then ``load_from`` / resume may overwrite it), so
    testing a trained LWS checkpoint does not need the previous stage's
    file. Stage I checkpoint -> stage II: the keys ``backbone.*``,
    ``neck.*`` and ``head.fc.*`` (the stage-I linear classifier) are taken;
    the stage-I MoCo modules are ignored. Stage III -> stage IV: the same
    keys are the student encoder and its **hard** head, as in the official
    code.

    BatchNorm of the frozen encoder (``frozen_bn_mode``):

    - ``'train'`` (official, reproduction): the encoder follows the model's
      mode, so during training BN normalises with batch statistics and its
      running statistics are re-estimated on class-balanced batches; they
      are saved and inherited by the stage-III teacher.
    - ``'eval'``: the frozen encoder stays in eval mode (running statistics
      of the previous stage, unchanged).

    Args:
        backbone (dict): Backbone config (as the previous stage's).
        head (dict): An ``LWSHead`` config.
        neck (dict, optional): Neck config. Defaults to None.
        init_checkpoint (str, optional): Previous stage's checkpoint.
            Defaults to None (nothing loaded).
        frozen_bn_mode (str): ``'train'`` or ``'eval'``. Defaults to
            'train'.
        load_prefixes (Sequence[str]): Keys taken from
            ``init_checkpoint``. Defaults to
            ``('backbone.', 'neck.', 'head.fc.')``.
        **kwargs: The other arguments of ``ImageClassifier``
            (``pretrained``, ``train_cfg``, ``data_preprocessor``,
            ``init_cfg``; each defaults to None).
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 init_checkpoint: Optional[str] = None,
                 frozen_bn_mode: str = 'train',
                 load_prefixes: Sequence[str] = ('backbone.', 'neck.',
                                                 'head.fc.'),
                 **kwargs) -> None:
        check_bn_mode('frozen_bn_mode', frozen_bn_mode)
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)
        self.init_checkpoint = init_checkpoint
        self.frozen_bn_mode = frozen_bn_mode
        self.load_prefixes = tuple(load_prefixes)
        for module in self._frozen_modules():
            set_requires_grad(module, False)
        fc = getattr(self.head, 'fc', None)
        if fc is None or not hasattr(self.head, 'scales'):
            raise TypeError('SSDLWSClassifier needs an LWSHead (with `fc` '
                            'and `scales`), but got '
                            f'{type(self.head).__name__}')
        set_requires_grad(fc, False)

    def _frozen_modules(self) -> list:
        mods = [self.backbone]
        if self.with_neck:
            mods.append(self.neck)
        return mods

    def init_weights(self) -> None:
        """Initialise, then load the previous stage (``init_checkpoint``)."""
        super().init_weights()
        if self.init_checkpoint is None:
            MMLogger.get_current_instance().info(
                'SSDLWSClassifier: no init_checkpoint; the frozen encoder '
                'and classifier keep their initialisation unless a '
                'checkpoint is loaded afterwards (load_from, resume, or a '
                'distillation teacher\'s checkpoint)')
            return
        load_stage_weights(
            self,
            self.init_checkpoint,
            self.load_prefixes,
            name=f'{type(self).__name__} (model.init_checkpoint)')

    def train(self, mode: bool = True) -> 'SSDLWSClassifier':
        """Set the mode; with ``frozen_bn_mode='eval'`` the frozen encoder
        stays in eval mode."""
        super().train(mode)
        if self.frozen_bn_mode == 'eval':
            for module in self._frozen_modules():
                module.eval()
        return self
