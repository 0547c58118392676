# Copyright (c) ltplug contributors. All rights reserved.
from .expert_accuracy import ExpertAccuracy
from .shot_accuracy import ShotAccuracy

__all__ = ['ShotAccuracy', 'ExpertAccuracy']
