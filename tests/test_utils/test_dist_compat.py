# Copyright (c) ltplug contributors. All rights reserved.
"""The CPU (gloo) distributed patch acts only when no accelerator of any
kind is reported: with CUDA, NPU, MLU, MUSA or DIPU the patched
``_init_dist_pytorch`` / ``Runner.wrap_model`` call MMEngine's originals;
MPS alone counts as no accelerator (PyTorch has no distributed backend for
it)."""
import types

import mmengine.device
import mmengine.dist.utils as dist_utils
import mmengine.model
import pytest
import torch
import torch.distributed
import torch.nn as nn
from mmengine.config import Config
from mmengine.runner import Runner

from ltplug.utils import dist_compat

KINDS = ('cuda', 'npu', 'mlu', 'musa', 'dipu', 'mps')


def report(monkeypatch, present):
    """Make MMEngine (and torch, for CUDA) report exactly ``present``."""
    for kind in KINDS:
        monkeypatch.setattr(mmengine.device, f'is_{kind}_available',
                            lambda kind=kind: kind in present)
    monkeypatch.setattr(torch.cuda, 'is_available',
                        lambda: 'cuda' in present)


@pytest.fixture
def patched(monkeypatch):
    """Install the patch over recording stand-ins for MMEngine's originals
    (restored after the test); returns the list of recorded calls."""
    calls = []

    def orig_init(backend, init_backend='torch', **kwargs):
        calls.append(('orig_init', backend))

    def orig_wrap(self, model_wrapper_cfg, model):
        calls.append(('orig_wrap', model_wrapper_cfg))
        return model

    class FakeDDP(nn.Module):

        def __init__(self, module, **kwargs):
            super().__init__()
            calls.append(('gloo_wrap', kwargs))
            self.module = module

    monkeypatch.setattr(dist_utils, '_init_dist_pytorch', orig_init)
    monkeypatch.setattr(Runner, 'wrap_model', orig_wrap)
    monkeypatch.setattr(dist_compat, '_PATCHED', False)
    assert dist_compat.patch_mmengine_cpu_distributed()
    monkeypatch.setattr(
        torch.distributed, 'init_process_group',
        lambda *args, **kwargs: calls.append(('gloo_init', kwargs)))
    monkeypatch.setattr(mmengine.model, 'MMDistributedDataParallel',
                        FakeDDP)
    for key, value in (('RANK', '1'), ('WORLD_SIZE', '2'),
                       ('LOCAL_RANK', '1')):
        monkeypatch.setenv(key, value)
    return calls


# (what is reported, whether the gloo path is expected)
CASES = [
    pytest.param((), True, id='cpu_only'),
    pytest.param(('mps', ), True, id='mps_only'),
] + [pytest.param((kind, ), False, id=kind) for kind in KINDS[:-1]]


@pytest.mark.parametrize('present,gloo', CASES)
def test_init_dist_defers_unless_no_accelerator(monkeypatch, patched,
                                                present, gloo):
    report(monkeypatch, present)
    if gloo:
        with pytest.warns(UserWarning, match="instead of 'nccl'"):
            dist_utils._init_dist_pytorch('nccl')
        assert patched == [('gloo_init',
                            dict(backend='gloo', rank=1, world_size=2))]
    else:
        dist_utils._init_dist_pytorch('nccl')
        assert patched == [('orig_init', 'nccl')]


@pytest.mark.parametrize('present,gloo', CASES)
def test_wrap_model_defers_unless_no_accelerator(monkeypatch, patched,
                                                 present, gloo):
    report(monkeypatch, present)
    runner = types.SimpleNamespace(distributed=True, cfg=Config(dict()))
    model = nn.Linear(2, 2)
    wrapped = Runner.wrap_model(runner, None, model)
    if gloo:
        assert patched == [('gloo_wrap',
                            dict(device_ids=None, broadcast_buffers=False,
                                 find_unused_parameters=False))]
        assert wrapped.module is model
    else:
        assert patched == [('orig_wrap', None)]
        assert wrapped is model


def test_not_distributed_always_defers(monkeypatch, patched):
    report(monkeypatch, ())
    runner = types.SimpleNamespace(distributed=False, cfg=Config(dict()))
    Runner.wrap_model(runner, None, nn.Linear(2, 2))
    assert patched == [('orig_wrap', None)]


def test_available_accelerators(monkeypatch):
    report(monkeypatch, ())
    assert dist_compat.available_accelerators() == []
    report(monkeypatch, ('npu', 'mps'))
    assert dist_compat.available_accelerators() == ['npu']
    report(monkeypatch, ('cuda', 'musa'))
    assert dist_compat.available_accelerators() == ['cuda', 'musa']
    # an older MMEngine without a check: that kind is not asked for, and
    # CUDA falls back to torch
    monkeypatch.delattr(mmengine.device, 'is_musa_available')
    monkeypatch.delattr(mmengine.device, 'is_cuda_available')
    assert dist_compat.available_accelerators() == ['cuda']
