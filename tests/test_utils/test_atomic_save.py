# Copyright (c) ltplug contributors. All rights reserved.
"""Nothing half-written (issue 18.7): checkpoints, the ``last_checkpoint``
pointer and dumped files survive a writer that fails halfway (a full disk),
and ``--resume`` then finds a complete checkpoint."""
import os
import os.path as osp

import mmengine
import pytest
import torch
from mmengine.config import Config
from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.hooks import Hook
from mmengine.runner import Runner

from ltplug.utils import load_checkpoint_safely, patch_mmengine_atomic_save
from tests.support.full_disk import FullDisk
from tests.support.tiny_data import make_image_list, write_tiny_config


def test_patch_is_installed_and_idempotent():
    put = LocalBackend.put
    patch_mmengine_atomic_save()
    patch_mmengine_atomic_save()
    assert LocalBackend.put is put
    assert getattr(put, '_ltplug_atomic', False)


@pytest.mark.parametrize('how', ['put', 'put_text', 'dump_json'])
def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch, how):
    path = str(tmp_path / 'metrics.json')
    old = {'accuracy/top1': 12.5, 'pad': 'x' * 500}
    mmengine.dump(old, path)
    disk = FullDisk(monkeypatch, room=10)
    disk.armed = True
    with pytest.raises(OSError, match='No space left'):
        if how == 'put':
            LocalBackend().put(b'y' * 1000, path)
        elif how == 'put_text':
            LocalBackend().put_text('y' * 1000, path)
        else:  # what tools/test.py --out does with the metrics
            mmengine.dump({'accuracy/top1': 99.0, 'pad': 'y' * 500}, path)
    disk.armed = False
    assert mmengine.load(path, file_format='json') == old
    assert os.listdir(tmp_path) == [osp.basename(path)]  # no temp left


class _ArmDisk(Hook):
    """Arms the full disk from the ``epoch``-th checkpoint save on."""

    def __init__(self, disk, epoch):
        self.disk, self.epoch = disk, epoch

    def before_save_checkpoint(self, runner, checkpoint):
        if checkpoint['meta']['epoch'] >= self.epoch:
            self.disk.armed = True


def _runner(tiny_cfg, work, max_epochs, hooks=()):
    cfg = Config.fromfile(tiny_cfg)
    cfg.work_dir = work
    cfg.train_cfg.max_epochs = max_epochs
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=1)
    cfg.resume = True  # from last_checkpoint when there is one
    runner = Runner.from_cfg(cfg)
    for hook in hooks:
        runner.register_hook(hook)
    return runner


@pytest.fixture
def tiny_cfg(tmp_path):
    data = str(tmp_path / 'data')
    make_image_list(data, per_class=2)
    return write_tiny_config(str(tmp_path / 'cfg.py'), data, max_epochs=1)


def _pointer(work):
    with open(osp.join(work, 'last_checkpoint')) as f:
        return f.read()


@pytest.mark.parametrize('match', ['epoch_', 'last_checkpoint'])
def test_full_disk_during_save_keeps_a_resumable_checkpoint(
        tiny_cfg, tmp_path, monkeypatch, match):
    """``max_keep_ckpts=1``: MMEngine deletes epoch_1.pth before writing
    epoch_2.pth. With the disk full during the checkpoint (or during the
    pointer), the previous checkpoint and pointer must stay complete."""
    work = str(tmp_path / 'work')
    _runner(tiny_cfg, work, 1).train()
    first = osp.join(work, 'epoch_1.pth')
    assert _pointer(work) == first

    disk = FullDisk(monkeypatch, match=match, room=10)
    runner = _runner(tiny_cfg, work, 2, hooks=[_ArmDisk(disk, epoch=2)])
    with pytest.raises(OSError, match='No space left'):
        runner.train()
    disk.armed = False

    pointed = _pointer(work)
    assert pointed in (first, osp.join(work, 'epoch_2.pth'))
    assert load_checkpoint_safely(pointed)['meta']['epoch'] in (1, 2)
    # no truncated checkpoint anywhere, no temp file left
    for name in os.listdir(work):
        assert not name.endswith('.tmp'), name
        if name.endswith('.pth'):
            load_checkpoint_safely(osp.join(work, name))
    # and resuming works and completes the run
    runner = _runner(tiny_cfg, work, 2)
    runner.train()
    assert _pointer(work) == osp.join(work, 'epoch_2.pth')
    assert load_checkpoint_safely(_pointer(work))['meta']['epoch'] == 2
    assert not osp.exists(first)  # max_keep_ckpts=1 still cleans up


def test_saved_checkpoint_equals_the_model(tiny_cfg, tmp_path):
    work = str(tmp_path / 'work')
    runner = _runner(tiny_cfg, work, 1)
    runner.train()
    saved = load_checkpoint_safely(osp.join(work, 'epoch_1.pth'))
    for k, v in runner.model.state_dict().items():
        assert torch.equal(saved['state_dict'][k], v), k


KILL_MID_SAVE = '''
import builtins, os, signal
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module(force=True)
class KillMidSaveHook(Hook):
    """SIGKILLs the process halfway through writing the checkpoint of
    epoch ``epoch``: half the bytes reach the file, then kill -9."""

    def __init__(self, epoch):
        self.epoch = epoch

    def before_save_checkpoint(self, runner, checkpoint):
        if checkpoint['meta']['epoch'] < self.epoch:
            return
        real_open, real_fdopen = builtins.open, os.fdopen

        class Half:
            def __init__(self, f):
                self.f = f
            def write(self, data):
                self.f.write(data[:len(data) // 2])
                self.f.flush()
                os.fsync(self.f.fileno())
                os.kill(os.getpid(), signal.SIGKILL)
            def __enter__(self):
                return self
            def __exit__(self, *exc):
                return self.f.__exit__(*exc)
            def __getattr__(self, name):
                return getattr(self.f, name)

        def wrap(f, mode):
            return Half(f) if mode == 'wb' else f

        builtins.open = lambda file, mode='r', *a, **k: wrap(
            real_open(file, mode, *a, **k), mode)
        os.fdopen = lambda fd, mode='r', *a, **k: wrap(
            real_fdopen(fd, mode, *a, **k), mode)
'''


def test_kill_9_during_save_keeps_a_resumable_checkpoint(tmp_path):
    """A real ``kill -9`` halfway through writing epoch_2.pth (with
    ``max_keep_ckpts=1``): ``--resume`` still finds the complete
    epoch_1.pth through ``last_checkpoint``, and finishes the run."""
    from tests.helpers import ROOT, run_tool
    (tmp_path / 'kill_mid_save.py').write_text(KILL_MID_SAVE)
    data = str(tmp_path / 'data')
    make_image_list(data, per_class=2)
    common = ("default_hooks = dict(logger=dict(type='LoggerHook', "
              "interval=1), checkpoint=dict(type='CheckpointHook', "
              'interval=1, max_keep_ckpts=1))\n')
    cfg1 = write_tiny_config(str(tmp_path / 'cfg1.py'), data, common,
                             max_epochs=1)
    kill = common + ("custom_imports = dict(imports=['ltplug', "
                     "'kill_mid_save'], allow_failed_imports=False)\n"
                     "custom_hooks = [dict(type='KillMidSaveHook', "
                     'epoch=2)]\n')
    cfg2 = write_tiny_config(str(tmp_path / 'cfg2.py'), data, kill,
                             max_epochs=2)
    cfg3 = write_tiny_config(str(tmp_path / 'cfg3.py'), data, common,
                             max_epochs=2)
    work = str(tmp_path / 'work')
    env = {'PYTHONPATH': f'{ROOT}{os.pathsep}{tmp_path}'}
    run_tool(['tools/train.py', cfg1, '--work-dir', work], env=env)
    proc = run_tool(['tools/train.py', cfg2, '--work-dir', work,
                     '--resume'], env=env, check=False)
    assert proc.returncode == -9, proc.stdout[-3000:]
    first = osp.join(work, 'epoch_1.pth')
    assert _pointer(work) == first
    assert load_checkpoint_safely(first)['meta']['epoch'] == 1
    assert not osp.exists(osp.join(work, 'epoch_2.pth'))  # no half file
    temps = [n for n in os.listdir(work) if n.endswith('.tmp')]
    assert len(temps) == 1 and temps[0].startswith('.epoch_2.pth.'), temps
    proc = run_tool(['tools/train.py', cfg3, '--work-dir', work,
                     '--resume'], env=env)
    assert 'resumed epoch: 1' in proc.stdout, proc.stdout[-3000:]
    assert load_checkpoint_safely(_pointer(work))['meta']['epoch'] == 2
    # the killed save's temporary file was cleaned up, nothing else
    assert not [n for n in os.listdir(work) if n.endswith('.tmp')]
    assert 'temporary file(s) of interrupted saves' in proc.stdout


def test_remove_stale_temp_files_only_takes_atomic_temps(tmp_path):
    from ltplug.utils.atomic_save import remove_stale_temp_files
    names = ['.epoch_2.pth.ab12_x9Z.tmp', 'epoch_2.pth', 'notes.tmp',
             '.hidden', '.epoch_1.pth.short.tmp']
    for name in names:
        (tmp_path / name).write_text('x')
    removed = remove_stale_temp_files(str(tmp_path))
    assert removed == [str(tmp_path / '.epoch_2.pth.ab12_x9Z.tmp')]
    assert sorted(os.listdir(tmp_path)) == sorted(names[1:])
    assert remove_stale_temp_files(str(tmp_path / 'missing')) == []
