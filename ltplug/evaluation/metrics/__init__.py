# Copyright (c) ltplug contributors. All rights reserved.
from .shot_accuracy import ShotAccuracy
from .expert_accuracy import ExpertAccuracy

__all__ = ['ShotAccuracy', 'ExpertAccuracy']
