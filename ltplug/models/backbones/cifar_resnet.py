# Copyright (c) ltplug contributors. All rights reserved.
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones.resnet import BasicBlock, ResLayer
from mmpretrain.models.backbones.resnet_cifar import ResNet_CIFAR
from mmpretrain.registry import MODELS

#: ``shortcut`` values: 'A' zero-pads the identity (He et al. 2016, option
#: A; LDAM-DRW's and NCL's ResNet-32), 'B' (alias 'conv') is a 1x1
#: convolution + BN (option B, MMPretrain's ResNets).
SHORTCUTS = {'A': 'A', 'B': 'B', 'conv': 'B'}


class ZeroPadShortcut(nn.Module):
    """Option-A shortcut: subsample the identity by ``stride`` and zero-pad
    the new channels, half before and half after (no parameters).

    With ``stride=2`` and ``out_channels = 2 * in_channels`` this is
    ``F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))`` of
    LDAM-DRW's and NCL's ``resnet_cifar.py``.

    Args:
        in_channels (int): Channels of the block's input.
        out_channels (int): Channels of the block's output, at least
            ``in_channels``.
        stride (int): The block's stride. Defaults to 1.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 stride: int = 1) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError('a zero-pad shortcut cannot reduce channels: '
                             f'{in_channels} -> {out_channels}')
        self.stride = stride
        extra = out_channels - in_channels
        self.pad = (0, 0, 0, 0, extra // 2, extra - extra // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:
            x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, self.pad)


@MODELS.register_module()
class CIFARResNet(ResNet_CIFAR):
    """The 3-stage CIFAR ResNets (He et al. 2016, section 4.2) that the
    long-tail literature uses, ResNet-32 above all.

    ``6n + 2`` layers: a 3x3 stem with 16 channels, then 3 stages of ``n``
    basic blocks with 16 / 32 / 64 channels and strides 1 / 2 / 2. ResNet-32
    (``n = 5``) has 463,504 parameters (option A) and a 64 x 8 x 8 output on
    32 x 32 inputs. MMPretrain's ``ResNet_CIFAR`` has only the 4-stage
    ImageNet-width depths (18 to 152).

    Shortcuts that change shape zero-pad the identity by default (option A,
    as the ResNet-32 of LDAM-DRW and of NCL's official code); ``shortcut='B'``
    (or ``'conv'``) uses a 1x1 convolution + BN instead (option B, as
    everywhere in MMPretrain, 466,256 parameters for ResNet-32; the layout of
    ltplug's checkpoints written before option A was the default).

    Args:
        depth (int): One of 20, 32, 44, 56, 110. Defaults to 32.
        stem_channels (int): Stem width. Defaults to 16.
        base_channels (int): Width of the first stage. Defaults to 16.
        num_stages (int): Defaults to 3.
        strides (Sequence[int]): Defaults to ``(1, 2, 2)``.
        dilations (Sequence[int]): Defaults to ``(1, 1, 1)``.
        out_indices (Sequence[int]): Defaults to ``(2, )``.
        zero_init_residual (bool): Zero-init the last BN of each block.
            Defaults to False (the LT codebases use plain Kaiming init).
        shortcut (str): ``'A'`` (zero-pad identity), ``'B'`` or ``'conv'``
            (1x1 conv + BN). Defaults to ``'A'``.
        **kwargs: Other arguments of :class:`mmpretrain.models.ResNet`
            (``frozen_stages``, ``norm_eval``, ``norm_cfg``, ...).
    """

    arch_settings = {
        20: (BasicBlock, (3, 3, 3)),
        32: (BasicBlock, (5, 5, 5)),
        44: (BasicBlock, (7, 7, 7)),
        56: (BasicBlock, (9, 9, 9)),
        110: (BasicBlock, (18, 18, 18)),
    }

    def __init__(self,
                 depth: int = 32,
                 stem_channels: int = 16,
                 base_channels: int = 16,
                 num_stages: int = 3,
                 strides: Sequence[int] = (1, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1),
                 out_indices: Sequence[int] = (2, ),
                 zero_init_residual: bool = False,
                 shortcut: str = 'A',
                 **kwargs) -> None:
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth} for CIFARResNet, choose '
                           f'from {sorted(self.arch_settings)}')
        if shortcut not in SHORTCUTS:
            raise ValueError(f'invalid shortcut {shortcut!r} for '
                             f'CIFARResNet, choose from {sorted(SHORTCUTS)}')
        # read by make_res_layer, which ResNet.__init__ calls
        self.shortcut = SHORTCUTS[shortcut]
        super().__init__(
            depth=depth,
            stem_channels=stem_channels,
            base_channels=base_channels,
            num_stages=num_stages,
            strides=strides,
            dilations=dilations,
            out_indices=out_indices,
            zero_init_residual=zero_init_residual,
            **kwargs)

    def make_res_layer(self, **kwargs) -> nn.Sequential:
        """One stage; option A swaps the first block's shortcut for a
        :class:`ZeroPadShortcut` (built without the 1x1 conv + BN)."""
        stride, cin = kwargs['stride'], kwargs['in_channels']
        cout = kwargs['out_channels']
        if self.shortcut == 'B' or (stride == 1 and cin == cout):
            return ResLayer(**kwargs)
        # ResLayer builds a conv shortcut whenever the shape changes, so
        # build the stage's blocks here (same arguments and module names)
        block, dpr = kwargs['block'], kwargs['drop_path_rate']
        rest = {k: v for k, v in kwargs.items()
                if k not in ('block', 'num_blocks', 'in_channels', 'stride',
                             'avg_down', 'drop_path_rate')}
        dpr = [dpr] * kwargs['num_blocks'] if isinstance(dpr, float) else dpr
        first = block(in_channels=cin, stride=stride,
                      downsample=ZeroPadShortcut(cin, cout, stride),
                      drop_path_rate=dpr[0], **rest)
        blocks = [block(in_channels=cout, stride=1, drop_path_rate=d, **rest)
                  for d in dpr[1:]]
        return nn.Sequential(first, *blocks)
