# Copyright (c) ltplug contributors. All rights reserved.
__all__ = []
