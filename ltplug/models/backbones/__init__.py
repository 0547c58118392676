# Copyright (c) ltplug contributors. All rights reserved.
from .cifar_resnet import CIFARResNet

__all__ = ['CIFARResNet']
