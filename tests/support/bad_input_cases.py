# Copyright (c) ltplug contributors. All rights reserved.
"""The bad-input table of README's Guarantees section (issue 18), as data.

Every :class:`Case` is one bad input a user can give: what it is, how to
give it (``trigger``), the exception type(s) that must stop the run and a
regular expression the message must match (it names the bad value or
file). ``tests/test_bad_input.py`` runs them all and checks README's table
against :data:`CASES`.

A ``trigger(ctx)`` gets a :class:`Ctx`: shared, lazily built files
(``ctx.world``: a tiny image list, ResNet-20 / ResNet-32 / 5-class configs
and their checkpoints, bad checkpoint files ...), a fresh ``ctx.tmp``
folder, ``ctx.monkeypatch`` and ``ctx.vars``. The regex may hold
``{name}`` fields, filled with ``re.escape(ctx.vars[name])`` after the
trigger ran (a path known only at run time). Rows with ``error=None`` are
inputs that are *accepted* on purpose (explicit partial loading, a BOM /
CRLF list): their trigger returns normally and checks the result itself.
"""
import copy
import functools
import glob
import os
import os.path as osp
import pickle
import uuid
import zipfile
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Dict, Optional, Tuple, Type, Union

import numpy as np
import torch

from tests.helpers import load_script

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

Errors = Union[Type[BaseException], Tuple[Type[BaseException], ...], None]


@dataclass
class Case:
    """One row of the bad-input table.

    Args:
        id (str): Stable id (README's first column).
        input (str): The bad input, in words (README's second column).
        trigger (callable): ``trigger(ctx)``; gives the bad input.
        error (type | tuple | None): What must be raised; None: the input
            is accepted on purpose and ``trigger`` checks the result.
        match (str): Regex the message must match (``re.search``), with
            optional ``{name}`` fields from ``ctx.vars``.
        after (callable, optional): ``after(ctx)``, run after the error
            was checked (e.g. the previous file is still complete).
        xfail (str, optional): A known bug: the reason (strict xfail).
    """
    id: str
    input: str
    trigger: Callable[['Ctx'], Any]
    error: Errors
    match: str = ''
    after: Optional[Callable[['Ctx'], None]] = None
    xfail: Optional[str] = None


@dataclass
class Ctx:
    world: 'World'
    tmp: str
    monkeypatch: Any
    vars: Dict[str, str] = field(default_factory=dict)


def _unique() -> str:
    """A fresh experiment (and so logger) name: runners built in the same
    second from the same config would share MMEngine's logger."""
    return f'bad_{uuid.uuid4().hex[:8]}'


@functools.lru_cache(maxsize=None)
def tool(rel: str):
    """``tools/<rel>.py`` imported as a module (its ``main(argv)``)."""
    return load_script(f'tools/{rel}.py',
                       'ltplug_tool_' + rel.replace('/', '_'))


# --------------------------------------------------------------- the world
CBD_PREPROC = dict(type='ClsDataPreprocessor', mean=[0., 0., 0.],
                   std=[255., 255., 255.], num_classes=4)


def _cbd_teacher(depth: int) -> dict:
    return dict(
        type='ImageClassifier',
        backbone=dict(type='CIFARResNet', depth=depth),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='CosineClsHead', num_classes=4, in_channels=64,
                  scale=20., loss=dict(type='CrossEntropyLoss')),
        data_preprocessor=CBD_PREPROC)


def _ssd_stage1(depth: int) -> dict:
    return dict(
        type='SSDMoCoClassifier',
        backbone=dict(type='CIFARResNet', depth=depth),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=4, in_channels=64),
        queue_size=8, proj_dim=8)


class World:
    """Files shared by every case, each built on first use under ``root``."""

    def __init__(self, root: str) -> None:
        self.root = root

    def path(self, *parts) -> str:
        return osp.join(self.root, *parts)

    @functools.cached_property
    def data(self) -> str:
        """A 4-class list of 8 PNGs (``data/train.txt``)."""
        from tests.support.tiny_data import make_image_list
        data = self.path('data')
        make_image_list(data, per_class=2)
        return data

    @functools.cached_property
    def cfgs(self) -> Dict[str, str]:
        """ResNet-20 (``r20``), ResNet-32 (``r32``), a 5-class head
        (``c5``) on the tiny list."""
        from tests.support.tiny_data import write_tiny_config
        cfgs = dict(r20=write_tiny_config(self.path('r20.py'), self.data,
                                          max_epochs=1))
        for name, model in (
                ('r32', 'dict(backbone=dict(depth=32))'),
                ('c5', 'dict(head=dict(num_classes=5), '
                 'data_preprocessor=dict(num_classes=5))')):
            cfgs[name] = self.path(f'{name}.py')
            with open(cfgs[name], 'w') as f:
                f.write(f"_base_ = ['r20.py']\nmodel = {model}\n")
        # the shipped runtime's hooks (r20.py replaces them with its own)
        cfgs['r20_hooks'] = self.path('r20_hooks.py')
        with open(cfgs['r20_hooks'], 'w') as f:
            f.write("_base_ = ['r20.py']\ncustom_hooks = [dict(type='"
                    "ClassCountsHook'), dict(type='InvalidLossStopHook')]\n")
        return cfgs

    def _save_model(self, cfg: dict, name: str, seed: int = 0) -> str:
        from mmpretrain.registry import MODELS
        torch.manual_seed(seed)
        model = MODELS.build(copy.deepcopy(cfg))
        path = self.path(f'{name}.pth')
        torch.save(dict(meta=dict(epoch=1, iter=2),
                        state_dict=model.state_dict()), path)
        return path

    @functools.cached_property
    def ckpts(self) -> Dict[str, str]:
        """A checkpoint of each config, and ``backbone``: ResNet-20's
        backbone only."""
        from mmengine.config import Config
        ckpts = {
            name: self._save_model(Config.fromfile(cfg).model, name)
            for name, cfg in self.cfgs.items() if name != 'r20_hooks'
        }
        state = torch.load(ckpts['r20'])['state_dict']
        ckpts['backbone'] = self.path('backbone_only.pth')
        torch.save(dict(state_dict={
            k: v for k, v in state.items() if k.startswith('backbone.')
        }), ckpts['backbone'])
        return ckpts

    @functools.lru_cache(maxsize=None)
    def bad_ckpt(self, kind: str) -> str:
        """A file that is not a readable, safe checkpoint."""
        if kind == 'config':
            return self.cfgs['r20']
        path = self.path(f'bad_{kind}.pth')
        good = self.ckpts['r20']
        with open(good, 'rb') as f:
            good_bytes = f.read()
        if kind == 'empty':
            open(path, 'wb').close()
        elif kind == 'truncated_zip':
            with open(path, 'wb') as f:
                f.write(good_bytes[:len(good_bytes) // 2])
        elif kind == 'truncated_legacy':
            torch.save(torch.load(good), path,
                       _use_new_zipfile_serialization=False)
            with open(path, 'rb') as f:
                data = f.read()
            with open(path, 'wb') as f:
                f.write(data[:len(data) // 2])
        elif kind == 'random':
            with open(path, 'wb') as f:
                f.write(np.random.default_rng(0).bytes(4096))
        elif kind == 'zip_no_pkl':
            with zipfile.ZipFile(path, 'w') as z:
                z.writestr('notes.txt', 'hello')
        elif kind == 'plain_pickle':
            with open(path, 'wb') as f:
                pickle.dump({'state_dict': {'w': 1}}, f, protocol=4)
        elif kind == 'code_zip':
            torch.save(dict(state_dict=torch.load(good)['state_dict'],
                            meta=_Payload(self.path('pwned_zip'))), path)
        elif kind == 'code_pickle':
            with open(path, 'wb') as f:
                pickle.dump({'meta': _Payload(self.path('pwned_pickle'))},
                            f, protocol=4)
        else:
            raise KeyError(kind)
        return path

    @functools.cached_property
    def teacher(self) -> Dict[str, str]:
        """CBD teacher configs (ResNet-20 / -32) and a ResNet-20 ckpt."""
        out = {}
        for depth in (20, 32):
            out[f'cfg{depth}'] = self.path(f'teacher_r{depth}.py')
            with open(out[f'cfg{depth}'], 'w') as f:
                f.write(f'model = {_cbd_teacher(depth)!r}\n')
        out['ckpt20'] = self._save_model(_cbd_teacher(20), 'teacher_r20')
        return out

    @functools.cached_property
    def ssd(self) -> Dict[str, str]:
        """ResNet-32 checkpoints of SSD stage I and stage III."""
        stage3 = dict(
            type='SSDDistiller',
            backbone=dict(type='CIFARResNet', depth=32),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=4, in_channels=64),
            teachers=[])
        return dict(stage1_r32=self._save_model(_ssd_stage1(32),
                                                'ssd_stage1_r32'),
                    stage3_r32=self._save_model(stage3, 'ssd_stage3_r32'))

    @functools.cached_property
    def images(self) -> str:
        """``img/`` with a good JPEG and PNG, a truncated JPEG, a file of
        text, an empty file; lists are written by the cases."""
        from PIL import Image
        folder = self.path('img')
        os.makedirs(folder, exist_ok=True)
        rng = np.random.default_rng(0)
        pixels = rng.integers(0, 255, (32, 32, 3)).astype(np.uint8)
        Image.fromarray(pixels).save(osp.join(folder, 'ok.jpg'), quality=90)
        Image.fromarray(pixels).save(osp.join(folder, 'ok.png'))
        with open(osp.join(folder, 'ok.jpg'), 'rb') as f:
            data = f.read()
        with open(osp.join(folder, 'cut.jpg'), 'wb') as f:
            f.write(data[:len(data) // 2])
        with open(osp.join(folder, 'text.jpg'), 'wb') as f:
            f.write(b'not an image at all')
        open(osp.join(folder, 'empty.jpg'), 'wb').close()
        return self.root


class _Payload:
    """Unpickling this would call os.system (it creates a marker file)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


# ----------------------------------------------------------------- helpers
def pretrained_trigger(ckpt: str, prefix: str) -> Callable[[Ctx], Any]:
    """Build the ResNet-32 model with its backbone's ``init_cfg`` a
    ``Pretrained`` of checkpoint ``ckpt`` (a key of ``World.ckpts``) and
    ``prefix``, then ``init_weights()`` (as cRT loads its stage one)."""

    def trigger(ctx):
        from mmengine.config import Config
        from mmpretrain.registry import MODELS
        cfg = Config.fromfile(ctx.world.cfgs['r32']).model.to_dict()
        cfg['backbone']['init_cfg'] = dict(
            type='Pretrained', checkpoint=ctx.world.ckpts[ckpt],
            prefix=prefix)
        MODELS.build(cfg).init_weights()

    return trigger


def run_test_tool(ctx: Ctx, cfg: str, ckpt: str, *extra: str) -> dict:
    """``tools/test.py CFG CKPT`` in-process; returns its metrics."""
    w = ctx.world
    ctx.vars.update(cfg=w.cfgs.get(cfg, cfg), ckpt=ckpt)
    return tool('test').main([
        w.cfgs.get(cfg, cfg), ckpt, '--work-dir',
        osp.join(ctx.tmp, 'work'), '--no-progress', '--cfg-options',
        f'experiment_name={_unique()}', *extra
    ])


def run_train_tool(ctx: Ctx, cfg: str, *args: str, options=()) -> None:
    """``tools/train.py CFG`` in-process."""
    w = ctx.world
    ctx.vars['cfg'] = w.cfgs.get(cfg, cfg)
    tool('train').main([
        w.cfgs.get(cfg, cfg), '--work-dir', osp.join(ctx.tmp, 'work'),
        *args, '--cfg-options', f'experiment_name={_unique()}', *options
    ])


def bad_ckpt_in_test_tool(kind: str) -> Callable[[Ctx], Any]:
    def trigger(ctx):
        run_test_tool(ctx, 'r20', ctx.world.bad_ckpt(kind))
    return trigger


def code_not_run(ctx: Ctx, marker: str) -> None:
    assert not osp.exists(ctx.world.path(marker)), 'the payload ran'


def _log_text(work: str) -> str:
    text = ''
    for path in glob.glob(osp.join(work, '*', '*.log')):
        with open(path) as f:
            text += f.read()
    return text


def load_from_partial(ctx: Ctx) -> None:
    """Accepted: ``allow_partial_load=True`` fine-tunes from a backbone-only
    checkpoint, and the log names what was not loaded."""
    backbone = ctx.world.ckpts['backbone']
    run_train_tool(ctx, 'r20', '--allow-partial',
                   options=[f'load_from={backbone}'])
    work = osp.join(ctx.tmp, 'work')
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    log = _log_text(work)
    assert f'checkpoint "{backbone}" does not fully fit' in log, log[-2000:]
    assert 'missing key(s)' in log and 'head.fc.weight' in log


def teacher_trigger(kind: str) -> Callable[[Ctx], Any]:
    """A CBD student whose teacher 0 is ``teacher_r20.py`` with a bad
    checkpoint (``kind``), or ``teacher_r32.py`` with ResNet-20 weights."""

    def trigger(ctx):
        from mmpretrain.registry import MODELS
        w = ctx.world
        if kind == 'arch':
            cfg, ckpt = w.teacher['cfg32'], w.teacher['ckpt20']
        else:
            cfg, ckpt = w.teacher['cfg20'], w.bad_ckpt(kind)
        ctx.vars.update(cfg=cfg, ckpt=ckpt, name=osp.basename(cfg))
        MODELS.build(dict(
            type='CBDDistiller',
            backbone=dict(type='CIFARResNet', depth=20),
            neck=dict(type='LinearNeck', in_channels=64, out_channels=64,
                      gap_dim=2, norm_cfg=None, act_cfg=dict(type='ReLU')),
            head=dict(type='CosineClsHead', num_classes=4, in_channels=64,
                      scale=20., loss=dict(type='CrossEntropyLoss')),
            teachers=[dict(config=cfg, checkpoint=ckpt)],
            data_preprocessor=CBD_PREPROC))

    return trigger


def ssd_lws_trigger(which: str) -> Callable[[Ctx], Any]:
    """SSD stage II / IV (``SSDLWSClassifier``, ResNet-20) loading its
    ``init_checkpoint``."""

    def trigger(ctx):
        from mmpretrain.registry import MODELS
        w = ctx.world
        ckpt = w.bad_ckpt('empty') if which == 'empty' else w.ssd[which]
        ctx.vars['ckpt'] = ckpt
        model = MODELS.build(dict(
            type='SSDLWSClassifier',
            backbone=dict(type='CIFARResNet', depth=20),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LWSHead', num_classes=4, in_channels=64),
            init_checkpoint=ckpt))
        model.init_weights()

    return trigger


# full disk --------------------------------------------------------------
def full_disk(ctx: Ctx, folder: str, room: int = 100) -> None:
    """From now on, files opened for writing under ``folder`` take
    ``room`` bytes, then raise ``OSError(ENOSPC)``."""
    from tests.support.full_disk import FullDisk
    FullDisk(ctx.monkeypatch, match=folder, room=room).armed = True


def save_ckpt_full_disk(ctx: Ctx) -> None:
    """MMEngine's ``save_checkpoint`` (what ``CheckpointHook`` calls) over
    a complete ``epoch_1.pth`` while the disk fills up."""
    from mmengine.runner.checkpoint import save_checkpoint
    work = osp.join(ctx.tmp, 'work')
    os.makedirs(work)
    path = osp.join(work, 'epoch_1.pth')
    save_checkpoint(dict(meta=dict(epoch=1),
                         state_dict={'w': torch.ones(64, 64)}), path)
    ctx.vars['path'] = path
    full_disk(ctx, work, room=1000)
    save_checkpoint(dict(meta=dict(epoch=2),
                         state_dict={'w': torch.zeros(64, 64)}), path)


def save_ckpt_full_disk_after(ctx: Ctx) -> None:
    from ltplug.utils import load_checkpoint_safely
    ctx.monkeypatch.undo()
    ckpt = load_checkpoint_safely(ctx.vars['path'])
    assert ckpt['meta']['epoch'] == 1
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(64, 64))
    assert os.listdir(osp.dirname(ctx.vars['path'])) == ['epoch_1.pth']


def _shot_samples(n_scores: int = 3):
    from mmpretrain.structures import DataSample
    out = []
    for label in (0, 1, 2, 0):
        score = torch.zeros(n_scores)
        score[label % n_scores] = 1.
        out.append(DataSample().set_gt_label(label)
                   .set_pred_score(score).to_dict())
    return out


def per_class_json_full_disk(ctx: Ctx) -> None:
    from mmpretrain.registry import METRICS
    out = osp.join(ctx.tmp, 'out')
    ctx.vars['path'] = osp.join(out, 'per_class_accuracy.json')

    def run():
        metric = METRICS.build(dict(type='ShotAccuracy', out_dir=out,
                                    class_counts=[150, 50, 5],
                                    print_table=False))
        metric.process(None, _shot_samples())
        metric.evaluate(4)

    run()
    with open(ctx.vars['path']) as f:
        ctx.vars['before'] = f.read()
    full_disk(ctx, out, room=50)
    run()


def per_class_json_full_disk_after(ctx: Ctx) -> None:
    import json
    ctx.monkeypatch.undo()
    with open(ctx.vars['path']) as f:
        text = f.read()
    assert text == ctx.vars['before']
    json.loads(text)
    assert os.listdir(osp.dirname(ctx.vars['path'])) == [
        'per_class_accuracy.json']


# number of classes through a Runner --------------------------------------
def _register_toy() -> None:
    from mmpretrain.datasets import BaseDataset
    from mmpretrain.registry import DATASETS

    if DATASETS.get('BadInputToyDataset') is not None:
        return

    @DATASETS.register_module(name='BadInputToyDataset', force=True)
    class BadInputToyDataset(BaseDataset):
        """``2 * num_classes`` blank 8 x 8 images, with class names and
        training counts ``[2] * num_classes``."""

        def __init__(self, num_classes: int = 4, **kwargs) -> None:
            self.toy_classes = num_classes
            kwargs.setdefault('pipeline', [dict(type='PackInputs')])
            super().__init__(
                ann_file='',
                metainfo=dict(classes=[f'c{i}' for i in range(num_classes)],
                              class_counts=[2] * num_classes),
                **kwargs)

        def load_data_list(self):
            return [dict(img=np.zeros((8, 8, 3), np.uint8),
                         gt_label=i % self.toy_classes)
                    for i in range(2 * self.toy_classes)]


def _toy_loader(num_classes: int = 4) -> dict:
    return dict(batch_size=4, num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=dict(type='BadInputToyDataset',
                             num_classes=num_classes))


def classes_trigger(head=4, preprocessor=4, loss=None, hook_counts=None,
                    val_data=4, val_evaluator=None) -> Callable[[Ctx], Any]:
    """``runner.train()`` on 4-class data, one part set otherwise."""

    def trigger(ctx):
        from mmengine.runner import Runner
        _register_toy()
        hook = dict(type='ClassCountsHook')
        if hook_counts is not None:
            hook['class_counts'] = hook_counts
        cfg = dict(
            model=dict(
                type='ImageClassifier',
                backbone=dict(type='CIFARResNet', depth=20),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=head,
                          in_channels=64,
                          loss=loss or dict(type='BalancedSoftmaxLoss')),
                data_preprocessor=dict(num_classes=preprocessor)),
            work_dir=osp.join(ctx.tmp, 'work'),
            experiment_name=_unique(),
            default_scope='mmpretrain',
            custom_hooks=[hook],
            default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                               interval=1)),
            env_cfg=dict(dist_cfg=dict(backend='gloo')),
            log_level='WARNING',
            train_dataloader=_toy_loader(),
            train_cfg=dict(by_epoch=True, max_epochs=1, val_interval=1),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            val_dataloader=_toy_loader(val_data),
            val_cfg=dict(),
            val_evaluator=val_evaluator or dict(type='Accuracy'))
        runner = Runner.from_cfg(cfg)
        try:
            runner.train()
        finally:
            ctx.vars['iters'] = str(runner.iter)

    return trigger


def nothing_trained(ctx: Ctx) -> None:
    assert ctx.vars['iters'] == '0'
    assert not osp.exists(osp.join(ctx.tmp, 'work', 'epoch_1.pth'))


def build(registry: str, **cfg) -> Callable[[Ctx], Any]:
    """Build ``cfg`` with MMPretrain's registry ``registry``."""

    def trigger(ctx):
        import mmpretrain.registry as reg
        return getattr(reg, registry).build(copy.deepcopy(cfg))

    return trigger


def shot_scores(ctx: Ctx) -> None:
    from mmpretrain.registry import METRICS
    metric = METRICS.build(dict(type='ShotAccuracy', class_counts=[50, 10, 2],
                                save_per_class=False))
    metric.process(None, _shot_samples(n_scores=10))


def expert_width(ctx: Ctx) -> None:
    from mmpretrain.registry import METRICS
    metric = METRICS.build(dict(type='ExpertAccuracy'))
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    metric.process(None, [dict(gt_label=torch.tensor([0]),
                               expert_logits=torch.zeros(2, 5))])


def invalid_loss(value: float) -> Callable[[Ctx], Any]:
    """``InvalidLossStopHook`` after an iteration whose ``loss_cls`` is
    ``value`` (no checkpoint saved yet)."""

    def trigger(ctx):
        from mmpretrain.registry import HOOKS
        hook = HOOKS.build(dict(type='InvalidLossStopHook'))
        runner = SimpleNamespace(epoch=0, iter=6, work_dir=ctx.tmp)
        hook.after_train_iter(runner, 6, outputs=dict(
            loss_cls=torch.tensor(value), loss_aux=torch.tensor(0.25)))

    return trigger


# list datasets -----------------------------------------------------------
def write_list(ctx: Ctx, lines, name='list.txt', raw: bytes = None) -> str:
    path = osp.join(ctx.tmp, name)
    with open(path, 'wb') as f:
        f.write(raw if raw is not None else
                ''.join(f'{ln}\n' for ln in lines).encode())
    ctx.vars['list'] = path
    return path


def list_dataset(ctx: Ctx, lines=None, raw: bytes = None, num_classes=2,
                 load: Optional[int] = None, **kwargs):
    """An ``LTListDataset`` over ``world.images`` (``img/...``) with a list
    written to ``ctx.tmp``; ``load``: index of an item to load."""
    from mmpretrain.registry import DATASETS
    root = ctx.world.images
    ann = write_list(ctx, lines, raw=raw)
    ds = DATASETS.build(dict(
        type='LTListDataset', ann_file=ann, data_root=root,
        num_classes=num_classes,
        pipeline=[dict(type='LoadImageFromFileChecked'),
                  dict(type='PackInputs')], **kwargs))
    if load is not None:
        return ds[load]
    return ds


def image_in_list(name: str) -> Callable[[Ctx], Any]:
    def trigger(ctx):
        ctx.vars['img'] = osp.join(ctx.world.images, 'img', name)
        list_dataset(ctx, ['img/ok.jpg 0', f'img/{name} 1'], load=1)
    return trigger


def bom_crlf_list(ctx: Ctx) -> None:
    """Accepted: a list with a UTF-8 BOM, CRLF ends, a blank line and a tab
    parses as the plain list, and its images exist."""
    plain = list_dataset(ctx, ['img/ok.jpg 0', 'img/ok.png 1'],
                         check_files=True)
    win = list_dataset(ctx, raw=b'\xef\xbb\xbfimg/ok.jpg 0\r\n\r\n'
                       b'img/ok.png\t1 \r\n', check_files=True)
    assert [win.get_data_info(i)['img_path'] for i in range(2)] == \
        [plain.get_data_info(i)['img_path'] for i in range(2)]
    assert win.get_gt_labels().tolist() == [0, 1]
    assert tuple(win[0]['inputs'].shape) == (3, 32, 32)


def sampler(cfg: dict, counts=(5, 3, 0, 2)) -> Callable[[Ctx], Any]:
    def trigger(ctx):
        from mmpretrain.datasets import BaseDataset
        from mmpretrain.registry import DATA_SAMPLERS
        labels = np.repeat(np.arange(len(counts)), counts)

        class Toy(BaseDataset):

            def __init__(self):
                super().__init__(ann_file='', metainfo=dict(
                    classes=[f'c{i}' for i in range(len(counts))]))

            def load_data_list(self):
                return [dict(img=i, gt_label=int(v))
                        for i, v in enumerate(labels)]

        full = dict(seed=0, rank=0, world_size=1, **cfg)
        DATA_SAMPLERS.build(full, default_args=dict(dataset=Toy()))

    return trigger


def export_head(ctx: Ctx) -> None:
    w = ctx.world
    ctx.vars['cfg'] = w.cfgs['r20']
    tool('deploy/export_model').main([
        w.cfgs['r20'], w.ckpts['r20'], '--out-dir',
        osp.join(ctx.tmp, 'export'), '--head', 'hard'])


# ------------------------------------------------------------------ table
CKPT = r'checkpoint "{ckpt}"'
CASES = [
    # ---- checkpoints that do not fit the model (issue 18.1)
    Case('ckpt-missing-keys',
         'tools/test.py: a ResNet-20 checkpoint with a ResNet-32 config',
         lambda c: run_test_tool(c, 'r32', c.world.ckpts['r20']),
         'CheckpointMismatchError',
         CKPT + r' does not fit the model of config "{cfg}":\n  \d+ missing '
         r'key\(s\) \(in the model, not in the file\): backbone\.layer1\.3'),
    Case('pretrained-wrong-depth',
         "`init_cfg=dict(type='Pretrained', prefix='backbone.')` (cRT's "
         'stage one) with a ResNet-20 file for a ResNet-32 backbone',
         pretrained_trigger('r20', 'backbone.'), 'CheckpointMismatchError',
         r'^Pretrained: checkpoint ".*r20\.pth" \(prefix \'backbone\.\'\) '
         r'does not fit module "backbone" \(CIFARResNet\):\n\s*60 missing '
         r'key'),
    Case('pretrained-prefix-absent',
         "`Pretrained` with a `prefix` that no key of the file has",
         pretrained_trigger('r32', 'backbone_ema.'),
         'CheckpointMismatchError',
         r'has no key under prefix \'backbone_ema\.\' for module "backbone"'),
    Case('ckpt-unexpected-keys',
         'tools/test.py: a ResNet-32 checkpoint with a ResNet-20 config',
         lambda c: run_test_tool(c, 'r20', c.world.ckpts['r32']),
         'CheckpointMismatchError',
         CKPT + r' does not fit the model of config "{cfg}":\n  \d+ '
         r'unexpected key\(s\) \(in the file, not in the model\): '
         r'backbone\.layer1\.3'),
    Case('ckpt-mis-shaped',
         'tools/test.py: a checkpoint whose head has another size',
         lambda c: run_test_tool(c, 'r20', c.world.ckpts['c5']),
         'CheckpointMismatchError',
         CKPT + r' does not fit the model of config "{cfg}":\n  2 mis-shaped '
         r'key\(s\): head\.fc\.weight \(5, 64\) in the file, \(4, 64\) in '
         r'the model'),
    Case('load-from-backbone-only',
         '`load_from` a backbone-only checkpoint (fine-tuning) without '
         '`allow_partial_load`',
         lambda c: run_train_tool(
             c, 'r20', options=[f'load_from={c.world.ckpts["backbone"]}']),
         'CheckpointMismatchError',
         r'backbone_only\.pth" does not fit the model of config "{cfg}":\n'
         r'  2 missing key\(s\).*head\.fc\.weight.*\nTo load only what fits, '
         r'set `allow_partial_load = True`'),
    Case('load-from-backbone-partial',
         'the same with `allow_partial_load = True` (`--allow-partial`): '
         'accepted, it trains and logs the keys not loaded',
         load_from_partial, None),
    Case('resume-other-model',
         '`--resume` a ResNet-20 checkpoint with a ResNet-32 config (even '
         'with `--allow-partial`)',
         lambda c: run_train_tool(c, 'r32', '--allow-partial', '--resume',
                                  c.world.ckpts['r20']),
         'CheckpointMismatchError',
         r'r20\.pth" does not fit the model of config "{cfg}":\n  \d+ '
         r'missing key\(s\)[\s\S]*\nResuming needs a checkpoint of the same '
         r'model\.$'),
    Case('allow-partial-not-bool',
         "`allow_partial_load='yes'` (not a bool)",
         lambda c: run_train_tool(c, 'r20', options=[
             f'load_from={c.world.ckpts["r20"]}', 'allow_partial_load=yes']),
         TypeError,
         r"^allow_partial_load must be True or False, but got 'yes' \(str\)"),
    # ---- checkpoint files that cannot be read (issue 18.2)
    Case('ckpt-empty', 'tools/test.py: an empty (0-byte) checkpoint',
         bad_ckpt_in_test_tool('empty'), 'CheckpointReadError',
         '^' + CKPT + r' is empty \(0 bytes\), not a checkpoint'),
    Case('ckpt-truncated-zip',
         'tools/test.py: a checkpoint cut in half (interrupted copy)',
         bad_ckpt_in_test_tool('truncated_zip'), 'CheckpointReadError',
         '^' + CKPT + r' is truncated: a zip \(torch\) checkpoint of \d+ '
         'bytes whose end is missing'),
    Case('ckpt-truncated-legacy',
         'tools/test.py: an old-format (`_use_new_zipfile_serialization='
         'False`) checkpoint cut in half',
         bad_ckpt_in_test_tool('truncated_legacy'), 'CheckpointReadError',
         '^' + CKPT + ' is truncated'),
    Case('ckpt-random-bytes', 'tools/test.py: a file of random bytes',
         bad_ckpt_in_test_tool('random'), 'CheckpointReadError',
         '^' + CKPT + r' is not a torch checkpoint: unknown format \(it '
         'starts with the bytes'),
    Case('ckpt-is-config',
         'tools/test.py CONFIG CONFIG: the config given as the checkpoint',
         bad_ckpt_in_test_tool('config'), 'CheckpointReadError',
         '^' + CKPT + r" is a text file, not a checkpoint \(it starts with "
         r"'.*'\); did you pass a config as the checkpoint\?"),
    Case('ckpt-zip-without-data-pkl',
         'tools/test.py: a zip archive that is not a torch checkpoint',
         bad_ckpt_in_test_tool('zip_no_pkl'), 'CheckpointReadError',
         '^' + CKPT + r' is not a torch checkpoint: a zip archive without '
         r"data\.pkl \(it holds e\.g\. \['notes\.txt'\]\)"),
    Case('ckpt-plain-pickle',
         'tools/test.py: a plain data pickle (`pickle.dump`)',
         bad_ckpt_in_test_tool('plain_pickle'), 'CheckpointReadError',
         '^' + CKPT + " is not a torch checkpoint: a pickle without "
         "torch.save's header"),
    Case('ckpt-carries-code',
         'tools/test.py: a torch checkpoint whose pickle would run '
         '`os.system`',
         bad_ckpt_in_test_tool('code_zip'), 'UnsafeCheckpointError',
         '^Refusing to load ' + CKPT + r": its pickle needs \[.*system.*\], "
         r'which could execute code when loaded\. If you trust this file, '
         r'convert it',
         after=lambda c: code_not_run(c, 'pwned_zip')),
    Case('ckpt-plain-pickle-carries-code',
         'tools/test.py: a plain pickle that would run `os.system`',
         bad_ckpt_in_test_tool('code_pickle'), 'UnsafeCheckpointError',
         '^Refusing to load ' + CKPT + r': a pickle \(not written by '
         r'torch\.save\) that needs \[.*system.*\], which could execute '
         'code', after=lambda c: code_not_run(c, 'pwned_pickle')),
    # ---- teachers and SSD stage weights
    Case('teacher-ckpt-empty', 'CBD teacher 0 with an empty checkpoint',
         teacher_trigger('empty'), 'CheckpointReadError',
         r'^teacher 0 \("{name}"\): ' + CKPT + r' is empty \(0 bytes\)'),
    Case('teacher-ckpt-truncated',
         'CBD teacher 0 with a checkpoint cut in half',
         teacher_trigger('truncated_zip'), 'CheckpointReadError',
         r'^teacher 0 \("{name}"\): ' + CKPT + ' is truncated'),
    Case('teacher-ckpt-random-bytes',
         'CBD teacher 0 with a file of random bytes',
         teacher_trigger('random'), 'CheckpointReadError',
         r'^teacher 0 \("{name}"\): ' + CKPT + ' is not a torch checkpoint'),
    Case('teacher-ckpt-is-config',
         'CBD teacher 0 with a config file as its checkpoint',
         teacher_trigger('config'), 'CheckpointReadError',
         r'^teacher 0 \("{name}"\): ' + CKPT + ' is a text file, not a '
         r'checkpoint .*did you pass a config as the checkpoint\?'),
    Case('teacher-other-architecture',
         'CBD teacher 0: a ResNet-32 teacher config with ResNet-20 weights',
         teacher_trigger('arch'), 'CheckpointMismatchError',
         r'^teacher 0 \("{name}"\): ' + CKPT + r' does not fit the model: '
         r'\d+ missing key\(s\) .*backbone\.layer1\.3.*A teacher must be '
         'the model of its config'),
    Case('ssd-stage2-init-other-depth',
         'SSD stage II (`SSDLWSClassifier`, ResNet-20): '
         '`init_checkpoint` of a ResNet-32 stage I',
         ssd_lws_trigger('stage1_r32'), ValueError,
         r'^SSDLWSClassifier \(model\.init_checkpoint\): ' + CKPT +
         r'[\s\S]*unexpected key\(s\)[\s\S]*backbone\.layer1\.3\.'),
    Case('ssd-stage4-init-other-depth',
         'SSD stage IV (`SSDLWSClassifier`, ResNet-20): '
         '`init_checkpoint` of a ResNet-32 stage III',
         ssd_lws_trigger('stage3_r32'), ValueError,
         r'^SSDLWSClassifier \(model\.init_checkpoint\): ' + CKPT +
         r'[\s\S]*unexpected key\(s\)[\s\S]*backbone\.layer1\.3\.'),
    Case('ssd-init-empty',
         'SSD stage II / IV: an empty `init_checkpoint`',
         ssd_lws_trigger('empty'), 'CheckpointReadError',
         r'^SSDLWSClassifier \(model\.init_checkpoint\): ' + CKPT +
         r' is empty \(0 bytes\)'),
    # ---- nothing half-written (issue 18.7)
    Case('save-ckpt-full-disk',
         'the disk fills up while a checkpoint is saved over epoch_1.pth',
         save_ckpt_full_disk, OSError,
         r'No space left on device', after=save_ckpt_full_disk_after),
    Case('per-class-json-full-disk',
         'the disk fills up while ShotAccuracy writes '
         'per_class_accuracy.json',
         per_class_json_full_disk, OSError, r'No space left on device',
         after=per_class_json_full_disk_after),
    # ---- one number of classes (issue 18.3)
    Case('head-classes-larger',
         '`model.head.num_classes=6` on 4-class data',
         classes_trigger(head=6), 'NumClassesMismatchError',
         r'^The number of classes differs within the training config: 4 '
         r'from model\.data_preprocessor\.num_classes=4, .*'
         r'train_dataloader\.dataset classes: 4.*; 6 from '
         r'model\.head\.num_classes=6\. The data has 4 classes: set '
         r'model\.head\.num_classes=4\.$', after=nothing_trained),
    Case('head-classes-smaller',
         '`model.head.num_classes=3` on 4-class data',
         classes_trigger(head=3), 'NumClassesMismatchError',
         r'3 from model\.head\.num_classes=3\. The data has 4 classes: set '
         r'model\.head\.num_classes=4\.$', after=nothing_trained),
    Case('preprocessor-classes',
         '`model.data_preprocessor.num_classes=5` on 4-class data',
         classes_trigger(preprocessor=5), 'NumClassesMismatchError',
         r'5 from model\.data_preprocessor\.num_classes=5;.*set '
         r'model\.data_preprocessor\.num_classes=4\.$',
         after=nothing_trained),
    Case('loss-counts-length',
         'a loss given `class_counts` of 3 classes on 4-class data',
         classes_trigger(loss=dict(type='BalancedSoftmaxLoss',
                                   class_counts=[5, 4, 3])),
         'NumClassesMismatchError',
         r'3 from model\.head\.loss\.class_counts: 3 entries',
         after=nothing_trained),
    Case('class-counts-hook-length',
         '`ClassCountsHook(class_counts=...)` of 3 classes on 4-class data',
         classes_trigger(hook_counts=[9, 3, 1]), 'NumClassesMismatchError',
         r'3 from custom_hooks ClassCountsHook\.class_counts: 3 entries',
         after=nothing_trained),
    Case('val-data-classes',
         'a val dataset of 5 classes, train data of 4',
         classes_trigger(val_data=5), 'NumClassesMismatchError',
         r'5 from val_dataloader\.dataset classes: 5',
         after=nothing_trained),
    Case('shot-accuracy-counts-length',
         '`ShotAccuracy(class_counts=...)` of 3 classes as val evaluator '
         'of 4-class data',
         classes_trigger(val_evaluator=dict(type='ShotAccuracy',
                                            class_counts=[5, 4, 3])),
         'NumClassesMismatchError',
         r'3 from val_evaluator \(ShotAccuracy\)\.class_counts: 3 entries',
         after=nothing_trained),
    Case('train-tool-head-classes',
         'tools/train.py --cfg-options model.head.num_classes=6 on 4-class '
         'data (a config with the default runtime\'s ClassCountsHook)',
         lambda c: run_train_tool(c, 'r20_hooks', options=[
             'model.head.num_classes=6']),
         'NumClassesMismatchError',
         r'^The number of classes differs within the training config: 4 from '
         r'model\.data_preprocessor\.num_classes=4, train_dataloader\.dataset '
         r'labels 0\.\.3 \(4 classes\); 6 from model\.head\.num_classes=6\. '
         r'The data has 4 classes: set model\.head\.num_classes=4\.$'),
    Case('custom-dataset-head-larger',
         'tools/train.py: MMPretrain\'s `CustomDataset` (a list without '
         'class names, labels 0-3) with head and data preprocessor '
         '`num_classes=6`',
         lambda c: run_train_tool(c, 'r20_hooks', options=[
             'model.head.num_classes=6',
             'model.data_preprocessor.num_classes=6']),
         'NumClassesMismatchError',
         r'6 from model\.data_preprocessor\.num_classes=6, '
         r'model\.head\.num_classes=6; 4 from train_dataloader\.dataset '
         r'labels 0\.\.3 \(4 classes\)\. The data has 4 classes: set '
         r'model\.data_preprocessor\.num_classes=4, '
         r'model\.head\.num_classes=4\.$'),
    Case('custom-dataset-head-smaller',
         'the same with head and data preprocessor `num_classes=3`',
         lambda c: run_train_tool(c, 'r20_hooks', options=[
             'model.head.num_classes=3',
             'model.data_preprocessor.num_classes=3']),
         'NumClassesMismatchError',
         r'3 from model\.data_preprocessor\.num_classes=3, '
         r'model\.head\.num_classes=3; 4 from train_dataloader\.dataset '
         r'labels 0\.\.3 \(4 classes\)\. The data has 4 classes: set '
         r'model\.data_preprocessor\.num_classes=4, '
         r'model\.head\.num_classes=4\.$'),
    Case('shot-accuracy-score-width',
         'ShotAccuracy given 10 scores per sample with counts for 3 classes',
         shot_scores, ValueError,
         r'^ShotAccuracy: the predictions have 10 class scores per sample '
         r'\(pred_score\), but class_counts has 3 classes'),
    Case('expert-accuracy-logit-width',
         'ExpertAccuracy given 5 logits per expert on 3-class data',
         expert_width, ValueError,
         r"^ExpertAccuracy: each expert gives 5 logits \(expert_logits\), "
         r"but the dataset has 3 classes \(metainfo\['classes'\]\)"),
    # ---- types and ranges from configs and --cfg-options (issue 18.4)
    Case('quoted-number',
         "`CIFAR10LT(imbalance_ratio='100')` (a quoted --cfg-options value)",
         build('DATASETS', type='CIFAR10LT', data_root='/nonexistent',
               imbalance_ratio='100'), TypeError,
         r"^CIFAR10LT: imbalance_ratio must be a number, but got '100' "
         r'\(str\); a quoted value in a config or in --cfg-options is a '
         r'string: write imbalance_ratio=100 without quotes$'),
    Case('bool-as-number', '`CosineClsHead(num_classes=True)`',
         build('MODELS', type='CosineClsHead', num_classes=True,
               in_channels=64), TypeError,
         r'^CosineClsHead: num_classes must be an int, but got True '
         r'\(bool\)'),
    Case('float-for-int', '`LTListDataset(num_classes=2.0)`',
         lambda c: list_dataset(c, ['img/ok.jpg 0'], num_classes=2.0),
         TypeError,
         r'^LTListDataset: num_classes must be an int, but got 2\.0 '
         r'\(float\)'),
    Case('nan-number', "`BalancedSoftmaxLoss(tau=float('nan'))`",
         build('MODELS', type='BalancedSoftmaxLoss', tau=float('nan')),
         ValueError,
         r'^BalancedSoftmaxLoss: tau must be a finite number, but got nan$'),
    Case('inf-number', "`ShotAccuracy(many_thr=float('inf'))`",
         build('METRICS', type='ShotAccuracy', many_thr=float('inf')),
         ValueError,
         r'^ShotAccuracy: many_thr must be a finite number, but got inf$'),
    Case('out-of-range-temperature', '`KDLoss(temperature=0)`',
         build('MODELS', type='KDLoss', temperature=0), ValueError,
         r'^KDLoss: temperature must be > 0, but got 0\.0$'),
    Case('quoted-flag', "`ShotAccuracy(inclusive='False')`",
         build('METRICS', type='ShotAccuracy', inclusive='False'), TypeError,
         r"^ShotAccuracy: inclusive must be True or False, but got 'False' "
         r'\(str\); a quoted value .* write inclusive=False without quotes$'),
    Case('class-counts-string',
         "`LTListDataset(class_counts='3,1')` (a string, not a list)",
         lambda c: list_dataset(c, ['img/ok.jpg 0'], class_counts='3,1'),
         TypeError, r"class_counts must be a list of ints, but got '3,1'"),
    Case('cbd-alpha-quoted', "`CBDDistiller(alpha='0.4')`",
         lambda c: build(
             'MODELS', type='CBDDistiller', alpha='0.4',
             backbone=dict(type='CIFARResNet', depth=20),
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=4, in_channels=64),
             teachers=[])(c),
         (TypeError, ValueError), r"alpha.*'0\.4'"),
    Case('ncl-moco-flag-quoted',
         "`NCLMultiExpertClassifier(moco=dict(..., shuffle_bn='False'))`",
         lambda c: build(
             'MODELS', type='NCLMultiExpertClassifier', num_experts=2,
             backbone=dict(type='CIFARResNet', depth=20),
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=4, in_channels=64),
             loss=dict(type='NCLLoss', hcm_n=2),
             moco=dict(dim=8, queue_size=16, shuffle_bn='False'))(c),
         TypeError, r"moco\.shuffle_bn must be True or False, but got "
         r"'False'"),
    Case('ssd-moco-momentum-quoted',
         "`SSDMoCoClassifier(momentum='0.999')`",
         lambda c: build(
             'MODELS', type='SSDMoCoClassifier', momentum='0.999',
             backbone=dict(type='CIFARResNet', depth=20),
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=4, in_channels=64),
             queue_size=16)(c),
         TypeError, r"SSDMoCoClassifier: momentum must be a number, but got "
         r"'0\.999'"),
    Case('sampler-bad-count', '`ClassAwareSampler(num_samples_cls=0)`',
         sampler(dict(type='ClassAwareSampler', num_samples_cls=0),
                 counts=(5, 3, 2)), ValueError,
         r'num_samples_cls must be >= 1, but got 0'),
    Case('sampler-quoted-flag',
         "`ProgressivelyBalancedSampler(last_epoch_balanced='False')`",
         sampler(dict(type='ProgressivelyBalancedSampler', total_epochs=4,
                      last_epoch_balanced='False'), counts=(5, 3, 2)),
         TypeError,
         r"last_epoch_balanced must be True or False, but got 'False'"),
    Case('sampler-empty-class',
         '`ClassAwareSampler` on data where class 2 has no image',
         sampler(dict(type='ClassAwareSampler')), ValueError,
         r'has no image of class index \[2\]'),
    # ---- list files and images (issue 18.5, 18.6)
    Case('list-utf16', 'a list file saved as UTF-16',
         lambda c: list_dataset(c, raw='img/ok.jpg 0\n'.encode('utf-16')),
         ValueError,
         r'^{list} is UTF-16 encoded \(it starts with a UTF-16 byte-order '
         r'mark\); save the list as UTF-8$'),
    Case('list-bom-crlf',
         'a list with a UTF-8 BOM, CRLF line ends, blank lines, tabs: '
         'accepted, the same list as the plain one',
         bom_crlf_list, None),
    Case('list-malformed-line', 'a list line without a label',
         lambda c: list_dataset(c, ['img/ok.jpg 0', 'img/ok.png']),
         ValueError,
         r"^{list}:2: expected '<path> <label>', but got 'img/ok\.png'"),
    Case('list-label-out-of-range', 'a label 7 in a 2-class list',
         lambda c: list_dataset(c, ['img/ok.jpg 0', 'img/ok.png 7']),
         ValueError,
         r'^{list}:2: label 7 is out of range for num_classes=2'),
    Case('list-bad-utf8', 'a list line that is not UTF-8',
         lambda c: list_dataset(c, raw=b'img/ok.jpg 0\nimg/\xff\xfe.jpg 1\n'),
         ValueError, r'^{list}:2: line is not valid UTF-8'),
    Case('list-missing-image',
         'a listed image that does not exist (`check_files=True`)',
         lambda c: list_dataset(c, ['img/ok.jpg 0', 'img/gone.jpg 1'],
                                check_files=True),
         FileNotFoundError,
         r'^1 of 2 images listed in {list} do not exist: {list}:2: '
         r'.*img/gone\.jpg'),
    Case('image-missing-at-load',
         'a listed image that does not exist, found when loaded',
         image_in_list('gone.jpg'), FileNotFoundError,
         r'^{list}:2: cannot load image {img}: image file {img} does not '
         r'exist'),
    Case('image-truncated-jpeg', 'a truncated JPEG in a list dataset',
         image_in_list('cut.jpg'), 'CorruptImageError',
         r'^{list}:2: cannot load image {img}: cannot decode image file '
         r'{img}: truncated JPEG'),
    Case('image-undecodable', 'a file of text named .jpg in a list dataset',
         image_in_list('text.jpg'), 'CorruptImageError',
         r'^{list}:2: cannot load image {img}: cannot decode image file '
         r'{img}'),
    Case('image-empty', 'an empty image file in a list dataset',
         image_in_list('empty.jpg'), 'CorruptImageError',
         r'^{list}:2: cannot load image {img}: image file {img} is empty$'),
    Case('loader-ignore-empty',
         '`LoadImageFromFileChecked(ignore_empty=True)`',
         build('TRANSFORMS', type='LoadImageFromFileChecked',
               ignore_empty=True), ValueError,
         r'^LoadImageFromFileChecked does not skip images: '
         r'ignore_empty=True is not allowed$'),
    # ---- invalid loss (issue 18.8)
    Case('loss-inf', 'the loss becomes inf during training',
         invalid_loss(float('inf')), 'InvalidLossError',
         r'^loss_cls became inf at epoch 1, iteration 7 \(batch 7 of the '
         r'epoch\)\..*no checkpoint was saved before it'),
    Case('loss-nan', 'the loss becomes NaN during training',
         invalid_loss(float('nan')), 'InvalidLossError',
         r'^loss_cls became nan at epoch 1, iteration 7 \(batch 7 of the '
         r'epoch\)\.'),
    # ---- tools
    Case('export-head-non-ssd',
         'tools/deploy/export_model.py --head hard on a non-SSD model',
         export_head, ValueError,
         r"^--head 'hard' applies to SSD stage-III models \(SSDDistiller\) "
         r"only, but the config's model is 'ImageClassifier'$"),
]


def resolve_errors(error) -> Tuple[type, ...]:
    """Exception types of a case (names are looked up in ltplug)."""
    if error is None:
        return ()
    if not isinstance(error, tuple):
        error = (error, )
    out = []
    for e in error:
        if isinstance(e, str):
            import ltplug.datasets.transforms as transforms
            import ltplug.engine.hooks as hooks
            import ltplug.utils as utils
            for module in (utils, hooks, transforms):
                if hasattr(module, e):
                    e = getattr(module, e)
                    break
            else:
                raise LookupError(f'no ltplug exception {e}')
        out.append(e)
    return tuple(out)
