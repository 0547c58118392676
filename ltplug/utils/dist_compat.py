# Copyright (c) ltplug contributors. All rights reserved.
"""Distributed training without GPUs (gloo) through MMEngine's Runner.

MMEngine 0.10.x assumes CUDA on the ``pytorch`` launcher: it calls
``torch.cuda.set_device`` and wraps the model in DDP with
``device_ids=[LOCAL_RANK]``. Both fail on a CPU-only machine. The patches
here change behaviour **only when no CUDA device is available**: the process
group then uses ``gloo`` (whatever ``dist_cfg.backend`` says) and DDP is
built with ``device_ids=None``. On GPUs, NCCL and MMEngine's own code path
are used unchanged.
"""
import os
import warnings
from typing import Dict, Optional

import torch
import torch.nn as nn

__all__ = ['patch_mmengine_cpu_distributed']

_PATCHED = False


def _cpu_only() -> bool:
    return not torch.cuda.is_available()


def patch_mmengine_cpu_distributed() -> bool:
    """Let ``--launcher pytorch`` train on CPU with gloo.

    Returns:
        bool: True the first time the patch is installed.
    """
    global _PATCHED
    if _PATCHED:
        return False
    import mmengine.dist.utils as dist_utils
    from mmengine.runner import Runner

    orig_init = dist_utils._init_dist_pytorch

    def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if not _cpu_only():
            return orig_init(backend, init_backend=init_backend, **kwargs)
        import torch.distributed as torch_dist
        if backend != 'gloo':
            warnings.warn(f'No CUDA device: using the gloo backend instead of '
                          f'{backend!r} for CPU distributed training.')
        torch_dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            **kwargs)

    dist_utils._init_dist_pytorch = _init_dist_pytorch

    orig_wrap = Runner.wrap_model

    def wrap_model(self, model_wrapper_cfg: Optional[Dict],
                   model: nn.Module) -> nn.Module:
        from mmengine.model import (MMDistributedDataParallel,
                                    convert_sync_batchnorm, is_model_wrapper)
        from mmengine.registry import MODEL_WRAPPERS
        if (not _cpu_only() or not self.distributed
                or is_model_wrapper(model)):
            return orig_wrap(self, model_wrapper_cfg, model)
        model = model.to('cpu')
        sync_bn = self.cfg.get('sync_bn', None)
        if sync_bn is not None:
            model = convert_sync_batchnorm(model, sync_bn)
        if model_wrapper_cfg is None:
            return MMDistributedDataParallel(
                module=model,
                device_ids=None,
                broadcast_buffers=False,
                find_unused_parameters=self.cfg.get('find_unused_parameters',
                                                    False))
        cfg = dict(model_wrapper_cfg)
        cfg.setdefault('type', 'MMDistributedDataParallel')
        cfg.pop('device_ids', None)
        wrapper_type = MODEL_WRAPPERS.get(cfg['type'])
        default_args = dict(module=model)
        if isinstance(wrapper_type, type) and issubclass(
                wrapper_type, torch.nn.parallel.DistributedDataParallel):
            default_args['device_ids'] = None
        return MODEL_WRAPPERS.build(cfg, default_args=default_args)

    Runner.wrap_model = wrap_model
    _PATCHED = True
    return True
