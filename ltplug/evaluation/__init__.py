# Copyright (c) ltplug contributors. All rights reserved.
from .functional import shot_groups
from .metrics import *  # noqa: F401,F403
