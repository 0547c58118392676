# Copyright (c) ltplug contributors. All rights reserved.
from typing import Sequence

from mmpretrain.models.backbones.resnet import BasicBlock
from mmpretrain.models.backbones.resnet_cifar import ResNet_CIFAR
from mmpretrain.registry import MODELS


@MODELS.register_module()
class CIFARResNet(ResNet_CIFAR):
    """The 3-stage CIFAR ResNets (He et al. 2016, section 4.2) that the
    long-tail literature uses, ResNet-32 above all.

    ``6n + 2`` layers: a 3x3 stem with 16 channels, then 3 stages of ``n``
    basic blocks with 16 / 32 / 64 channels and strides 1 / 2 / 2. ResNet-32
    (``n = 5``) has about 0.46 M parameters and a 64 x 8 x 8 output on 32 x 32
    inputs. MMPretrain's ``ResNet_CIFAR`` has only the 4-stage ImageNet-width
    depths (18 to 152).

    Shortcuts that change shape use a 1x1 convolution + BN (option B), as
    everywhere in MMPretrain; the NCL code uses option A (zero padding).

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
                 **kwargs) -> None:
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth} for CIFARResNet, choose '
                           f'from {sorted(self.arch_settings)}')
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
