# Copyright (c) ltplug contributors. All rights reserved.
from .functional import group_accuracy, shot_groups  # noqa: F401
from .metrics import *  # noqa: F401,F403
