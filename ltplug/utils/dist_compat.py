# Copyright (c) ltplug contributors. All rights reserved.
"""Distributed training without GPUs (gloo) through MMEngine's Runner.

MMEngine 0.10.x assumes an accelerator on the ``pytorch`` launcher: with
no NPU, MLU or MUSA it calls ``torch.cuda.set_device`` and wraps the model
in DDP with ``device_ids=[LOCAL_RANK]``. Both fail on a CPU-only machine.
The patches here change behaviour **only when no accelerator of any kind
is available** (see :func:`available_accelerators`): the process group then
uses ``gloo`` (whatever ``dist_cfg.backend`` says) and DDP is built with
``device_ids=None``. With CUDA, NPU, MLU, MUSA or DIPU, MMEngine's own code
path (NCCL, HCCL, CNCL, MCCL) is used unchanged.

Apple's MPS does not count: PyTorch has no distributed backend for it and
MMEngine's launcher would call ``torch.cuda.set_device`` on a Mac, so a
distributed run there trains on the CPU with gloo, as on any machine
without an accelerator.
"""
import os
import warnings
from typing import Dict, List, Optional

import torch
import torch.nn as nn

__all__ = [
    'patch_mmengine_cpu_distributed', 'available_accelerators',
    'upstream_needs_accelerator'
]

_PATCHED = False
#: MMEngine's own ``_init_dist_pytorch`` (kept when patched).
original_init_dist_pytorch = None

# mmengine.device checks of the accelerators that MMEngine's launcher and
# DDP wrapper handle themselves. Looked up at call time with getattr: older
# MMEngine versions lack some (MUSA and DIPU came in 0.10).
ACCELERATOR_CHECKS = ('is_cuda_available', 'is_npu_available',
                      'is_mlu_available', 'is_musa_available',
                      'is_dipu_available')


def available_accelerators() -> List[str]:
    """The accelerators MMEngine reports, e.g. ``['cuda']``.

    Asks ``mmengine.device`` (``is_cuda_available``, ``is_npu_available``,
    ``is_mlu_available``, ``is_musa_available``, ``is_dipu_available``,
    those that exist); CUDA falls back to ``torch.cuda.is_available`` where
    MMEngine has no check. MPS is left out on purpose (see the module
    docstring).

    Returns:
        list[str]: Names such as ``'cuda'`` or ``'npu'``; empty on a
        CPU-only machine.
    """
    import mmengine.device as mm_device
    found = []
    for name in ACCELERATOR_CHECKS:
        check = getattr(mm_device, name, None)
        if check is None and name == 'is_cuda_available':
            check = torch.cuda.is_available
        if check is not None and check():
            found.append(name[len('is_'):-len('_available')])
    return found


def upstream_needs_accelerator() -> bool:
    """Whether MMEngine's ``_init_dist_pytorch`` calls
    ``torch.cuda.set_device`` without first checking for CUDA (so fails on
    a CPU-only machine); the stand-down probe of :mod:`ltplug.utils.compat`.

    Returns:
        bool: True while MMEngine needs the CPU patch (0.10.x).
    """
    import inspect

    import mmengine.dist.utils as dist_utils
    original = original_init_dist_pytorch or dist_utils._init_dist_pytorch
    try:
        source = inspect.getsource(original)
    except (OSError, TypeError):  # no source: assume it is MMEngine's own
        return True
    return ('torch.cuda.set_device' in source
            and 'is_cuda_available' not in source)


def _cpu_only() -> bool:
    return not available_accelerators()


def patch_mmengine_cpu_distributed() -> bool:
    """Let ``--launcher pytorch`` train on CPU with gloo.

    Wraps MMEngine's ``_init_dist_pytorch`` and ``Runner.wrap_model``; the
    wrappers call the originals unchanged whenever
    :func:`available_accelerators` finds one (checked at every call).

    Returns:
        bool: True the first time the patch is installed.
    """
    global _PATCHED, original_init_dist_pytorch
    if _PATCHED:
        return False
    import mmengine.dist.utils as dist_utils
    from mmengine.runner import Runner

    orig_init = dist_utils._init_dist_pytorch
    original_init_dist_pytorch = orig_init

    def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if not _cpu_only():
            return orig_init(backend, init_backend=init_backend, **kwargs)
        import torch.distributed as torch_dist
        if backend != 'gloo':
            warnings.warn('No accelerator (CUDA, NPU, MLU, MUSA, DIPU): using '
                          f'the gloo backend instead of {backend!r} for CPU '
                          'distributed training.')
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
