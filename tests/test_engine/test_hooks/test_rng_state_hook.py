# Copyright (c) ltplug contributors. All rights reserved.
"""RNGStateHook: kill-and-resume gives the uninterrupted run's weights;
states come back from any device/dtype (as a GPU resume maps them); every
rank saves and restores its own states."""
import io
import os.path as osp
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmpretrain.registry import HOOKS

import ltplug.engine.hooks.rng_state_hook as rng_module
from ltplug.utils.checkpoint import load_checkpoint_safely
from tests.helpers import run_tool
from tests.support.tiny_data import make_image_list, write_tiny_config

EXTRA = """
custom_imports = dict(imports=['ltplug', 'tests.support.record_hook',
                               'tests.support.kill_hook'],
                      allow_failed_imports=False)
pipeline = [dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', scale=32,
                 crop_ratio_range=(0.5, 1.)),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            dict(type='PackInputs')]
train_dataloader['dataset'] = dict(dataset, pipeline=pipeline)
custom_hooks = [dict(type='RNGStateHook'), dict(type='RecordTrainingHook'),
                dict(type='KillAfterCheckpointHook', epoch=2)]
"""


def _final_weights(work):
    return torch.load(osp.join(work, 'weights_rank0.pth'))


def test_sigkill_after_checkpoint_then_resume_matches(tmp_path):
    data = str(tmp_path / 'data')
    make_image_list(data)
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), data, extra=EXTRA,
                            max_epochs=3)
    ref = str(tmp_path / 'uninterrupted')
    run_tool(['tools/train.py', cfg, '--work-dir', ref])

    work = str(tmp_path / 'killed')
    proc = run_tool(['tools/train.py', cfg, '--work-dir', work],
                    env={'LTPLUG_TEST_KILL': '1'}, check=False)
    assert proc.returncode == -9, proc.stdout[-2000:]  # SIGKILL
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
    assert not osp.exists(osp.join(work, 'epoch_3.pth'))
    out = run_tool(['tools/train.py', cfg, '--work-dir', work,
                    '--resume']).stdout
    assert 'restored the random generators' in out

    a, b = _final_weights(ref), _final_weights(work)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


class _Logger:
    """Collects what the hook logs."""

    def __init__(self):
        self.infos, self.warnings = [], []

    def info(self, msg):
        self.infos.append(msg)

    def warning(self, msg):
        self.warnings.append(msg)


def _runner(resume=True):
    return SimpleNamespace(_resume=resume, logger=_Logger())


def _map_tensors(obj, fn):
    """``obj`` with ``fn`` applied to every tensor in it (as a checkpoint
    loader's ``map_location`` moves every tensor)."""
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_tensors(v, fn) for v in obj)
    return obj


def _draws():
    return random.random(), float(np.random.rand()), torch.rand(4)


def _assert_same_draws(a, b):
    assert a[0] == b[0] and a[1] == b[1]
    assert torch.equal(a[2], b[2])


def _saved_checkpoint(hook, tmp_path):
    """A checkpoint written by ``hook`` now and read back the way ltplug's
    resume reads it (``weights_only=True`` loader), and the draws that
    follow it."""
    ckpt = {}
    hook.before_save_checkpoint(_runner(), ckpt)
    path = str(tmp_path / 'rng.pth')
    torch.save(ckpt, path)
    return load_checkpoint_safely(path), _draws()


# How the CPU generator's state may come back from a checkpoint. On a GPU,
# MMEngine's resume maps it to CUDA, and ``torch.set_rng_state`` refuses it
# with "RNG state must be a torch.ByteTensor": its check (CPU device *and*
# uint8) is the one an int64 tensor fails here, without a GPU.
NOT_CPU_BYTES = {
    'int64 tensor': lambda t: t.to(torch.int64),
    'int32 tensor': lambda t: t.to(torch.int32),
    'list of ints': lambda t: t.tolist(),
    'numpy array': lambda t: t.numpy(),
}


@pytest.mark.parametrize('convert', NOT_CPU_BYTES.values(),
                         ids=NOT_CPU_BYTES.keys())
def test_resume_restores_states_not_on_cpu_bytes(convert, tmp_path):
    hook = HOOKS.build(dict(type='RNGStateHook'))
    ckpt, expected = _saved_checkpoint(hook, tmp_path)
    ckpt = _map_tensors(ckpt, convert)
    _draws()  # move the generators on
    runner = _runner()
    hook.after_load_checkpoint(runner, ckpt)
    _assert_same_draws(_draws(), expected)
    assert any('restored the random generators' in m
               for m in runner.logger.infos)


def test_states_are_plain_data_per_rank():
    hook = HOOKS.build(dict(type='RNGStateHook'))
    ckpt = {}
    hook.before_save_checkpoint(_runner(), ckpt)
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    buf.seek(0)
    # no allow-list needed: no numpy array, no custom class
    saved = torch.load(buf, weights_only=True)['rng_state']
    assert saved['world_size'] == 1 and len(saved['ranks']) == 1
    assert torch.equal(saved['ranks'][0]['torch'], torch.get_rng_state())


def test_bad_state_is_refused_naming_it(tmp_path):
    hook = HOOKS.build(dict(type='RNGStateHook'))
    ckpt, _ = _saved_checkpoint(hook, tmp_path)
    state = ckpt['rng_state']['ranks'][0]
    state['torch'] = state['torch'].to(torch.int64) + 300
    torch.manual_seed(5)
    expected = torch.rand(4)
    torch.manual_seed(5)
    with pytest.raises(ValueError, match=r'torch generator state.*0-255.*'
                       r'\[300, 555\]'):
        hook.after_load_checkpoint(_runner(), ckpt)
    # nothing was half-restored
    assert torch.equal(torch.rand(4), expected)


def test_cuda_states_saved_and_restored_as_cpu_bytes(monkeypatch, tmp_path):
    """CUDA's generators (faked: no GPU here) are saved when CUDA is in use
    and restored from CUDA-mapped states as CPU ByteTensors."""
    cuda_states = [torch.arange(16, dtype=torch.uint8),
                   torch.arange(16, 32, dtype=torch.uint8)]
    restored = []
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_initialized', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    monkeypatch.setattr(torch.cuda, 'get_rng_state_all',
                        lambda: [s.clone() for s in cuda_states])
    monkeypatch.setattr(torch.cuda, 'set_rng_state_all', restored.extend)
    hook = HOOKS.build(dict(type='RNGStateHook'))
    ckpt, _ = _saved_checkpoint(hook, tmp_path)
    saved = ckpt['rng_state']['ranks'][0]['cuda']
    assert [s.tolist() for s in saved] == [s.tolist() for s in cuda_states]
    hook.after_load_checkpoint(_runner(),
                               _map_tensors(ckpt, lambda t: t.long()))
    assert len(restored) == 2
    for got, want in zip(restored, cuda_states):
        assert got.device.type == 'cpu' and got.dtype == torch.uint8
        assert torch.equal(got, want)


def test_old_format_is_rank0_state_and_other_ranks_warn(monkeypatch):
    """A checkpoint from before per-rank states (one dict, numpy key as an
    array) restores rank 0; rank 1 keeps its generators and says so."""
    np_state = np.random.get_state()
    old = dict(python=random.getstate(),
               numpy=(np_state[0], np_state[1], int(np_state[2]),
                      int(np_state[3]), float(np_state[4])),
               torch=torch.get_rng_state())
    expected = _draws()
    hook = HOOKS.build(dict(type='RNGStateHook'))

    monkeypatch.setattr(rng_module, 'get_dist_info', lambda: (1, 2),
                        raising=False)
    torch.manual_seed(7)
    rank1_expected = torch.rand(4)
    torch.manual_seed(7)
    runner = _runner()
    hook.after_load_checkpoint(runner, {'rng_state': old})
    assert torch.equal(torch.rand(4), rank1_expected)  # not rank 0's
    assert any('could not restore the random generators of rank 1' in m
               for m in runner.logger.warnings), runner.logger.warnings

    monkeypatch.setattr(rng_module, 'get_dist_info', lambda: (0, 2),
                        raising=False)
    runner = _runner()
    hook.after_load_checkpoint(runner, {'rng_state': old})
    _assert_same_draws(_draws(), expected)
    assert any('holds rank 0\'s only' in m and 'could not restore rank 1' in m
               for m in runner.logger.warnings), runner.logger.warnings


def test_restored_again_before_train_after_a_reseed(tmp_path):
    """MMEngine's resume re-seeds after loading when the config has no
    seed; the hook restores the checkpoint's states again at the start (and
    only on resume: ``load_from`` alone leaves the generators)."""
    hook = HOOKS.build(dict(type='RNGStateHook'))
    ckpt, expected = _saved_checkpoint(hook, tmp_path)
    runner = _runner()
    hook.after_load_checkpoint(runner, ckpt)
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    hook.before_train(runner)
    _assert_same_draws(_draws(), expected)

    hook = HOOKS.build(dict(type='RNGStateHook'))
    runner = _runner(resume=False)
    torch.manual_seed(123)
    seeded = torch.rand(4)
    torch.manual_seed(123)
    hook.after_load_checkpoint(runner, ckpt)
    hook.before_train(runner)
    assert torch.equal(torch.rand(4), seeded)


DIST_EXTRA = """
custom_imports = dict(imports=['ltplug', 'tests.support.rng_record_hook'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='RNGStateHook'), dict(type='RNGRecordHook')]
randomness = dict(seed=0, diff_rank_seed=True, deterministic=True)
"""


def _record(work, it, rank):
    return torch.load(osp.join(work, f'rng_at_iter{it}_rank{rank}.pth'),
                      weights_only=True)


def _same_state(record, state):
    return (torch.equal(record['torch'], state['torch'])
            and record['numpy'] == list(state['numpy'][1])
            and tuple(record['python'][1]) == tuple(state['python'][1]))


def test_two_processes_save_and_restore_each_ranks_states(tmp_path):
    """2 gloo processes: the checkpoint holds both ranks' (distinct) states;
    a 2-process resume gives each rank its own; a 1-process resume restores
    rank 0 and logs that rank 1's states were not restored."""
    data = str(tmp_path / 'data')
    make_image_list(data)  # 32 images, 2 x 4 per iteration: 4 per epoch
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), data,
                            extra=DIST_EXTRA, max_epochs=2)
    work = str(tmp_path / 'work')
    run_tool(['tools/dist_train.sh', cfg, '2', '--work-dir', work,
              '--no-validate'])
    ckpt = osp.join(work, 'epoch_1.pth')
    saved = torch.load(ckpt, weights_only=False)['rng_state']
    assert saved['world_size'] == 2 and len(saved['ranks']) == 2
    rank0, rank1 = saved['ranks']
    assert not torch.equal(rank0['torch'], rank1['torch'])
    assert list(rank0['numpy'][1]) != list(rank1['numpy'][1])

    resumed = str(tmp_path / 'resumed2')
    run_tool(['tools/dist_train.sh', cfg, '2', '--work-dir', resumed,
              '--no-validate', '--resume', ckpt])
    for rank, state in enumerate(saved['ranks']):
        assert _same_state(_record(resumed, 4, rank), state), rank

    single = str(tmp_path / 'resumed1')
    out = run_tool(['tools/train.py', cfg, '--work-dir', single,
                    '--no-validate', '--resume', ckpt]).stdout
    assert 'holds the random generator states of 2 rank(s), this run has ' \
        '1 process(es); could not restore the states saved for rank 1' \
        in out, out[-3000:]
    assert _same_state(_record(single, 4, 0), rank0)
