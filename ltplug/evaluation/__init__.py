# Copyright (c) ltplug contributors. All rights reserved.
from .functional import group_accuracy, shot_groups
from .metrics import *  # noqa: F401,F403
