# Copyright (c) ltplug contributors. All rights reserved.
"""The batched-augmentation variants of the CBD CIFAR-10-LT configs
(configs/batchaug/cbd*-batchaug.py), built through the registry: only the
train data path differs from the per-sample reference config; the built
``BatchAugDataPreprocessor`` holds the reference pipeline's random ops with
its parameters and CBD's normalisation (mean 0 / std 255, RGB); in eval it
gives the reference preprocessor's batch exactly; the CBD student builds
with per-sample (and batchaug) teachers and takes a training step that
leaves its teacher untouched."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.models.utils.data_preprocessor import ClsDataPreprocessor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ltplug.models.data_preprocessors import BatchAugDataPreprocessor
from ltplug.models.utils.teacher import norm_signature
from tests.helpers import ROOT, unwrap_bgr
from tests.support.batch_augment_cases import (make_images, per_sample,
                                               per_sample_jitter, to_nhwc)

BATCHAUG_DIR = osp.join(ROOT, 'configs', 'batchaug')
CBD_DIR = osp.join(ROOT, 'configs', 'cbd')
SUFFIX = '_resnet32_1xb128-200e_cifar10-lt-r100'
KINDS = ('cbd-teacher', 'cbd-teacher-aug', 'cbd')

CROP_FLIP = [
    ('BatchRandomCrop', dict(crop_size=(32, 32), padding=4, pad_val=0.)),
    ('BatchRandomFlip', dict(prob=0.5, direction='horizontal')),
]
# SimCLR colour distortion, strength 1: factors U(0.2, 1.8), hue U(-0.2,
# 0.2), p 0.8; then grey p 0.2 with the RGB luma weights
SIMCLR = [
    ('BatchColorJitter', dict(ranges=((0.2, 1.8), ) * 3 + ((-0.2, 0.2), ),
                              prob=0.8)),
    ('BatchRandomGrayscale', dict(prob=0.2,
                                  channel_weights=(0.2989, 0.587, 0.114))),
]
EXPECTED_VIEW = {'cbd-teacher': CROP_FLIP, 'cbd-teacher-aug':
                 CROP_FLIP + SIMCLR, 'cbd': CROP_FLIP}


def batchaug_path(kind: str) -> str:
    return osp.join(BATCHAUG_DIR, f'{kind}{SUFFIX}-batchaug.py')


def reference_path(kind: str) -> str:
    return osp.join(CBD_DIR, f'{kind}{SUFFIX}.py')


def load(path: str) -> Config:
    init_default_scope('mmpretrain')
    try:
        return Config.fromfile(path)
    except FileNotFoundError as e:
        if '_base_/datasets' not in str(e):
            raise
        pytest.skip(f'a base dataset config (another engineer\'s) is '
                    f'missing: {e}')


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory) -> str:
    """A checkpoint of a freshly built per-sample vanilla teacher (the one
    the CBD student config names), for every teacher of this module."""
    init_default_scope('mmpretrain')
    cfg = load(reference_path('cbd-teacher'))
    torch.manual_seed(0)
    teacher = MODELS.build(cfg.model)
    path = str(tmp_path_factory.mktemp('cbd_batchaug') / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict()), path)
    return path


def build(cfg: Config, ckpt: str, teacher_configs=None):
    """``cfg.model`` through the registry; a distiller's teachers load
    ``ckpt`` (and, when given, are built from ``teacher_configs``)."""
    model_cfg = copy.deepcopy(cfg.model)
    for i, t in enumerate(model_cfg.get('teachers', [])):
        t.checkpoint = ckpt
        if teacher_configs is not None:
            t.config = teacher_configs[i]
    init_default_scope('mmpretrain')
    return MODELS.build(model_cfg)


def tiny_batch(n: int = 8, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8,
                           generator=g)
    labels = torch.randint(0, 10, (n, ), generator=g)
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    return dict(inputs=inputs, data_samples=samples)


def data_only(cfg: Config) -> dict:
    """The config as a dict without what a batchaug variant may change:
    the preprocessors and the train pipeline."""
    d = cfg.to_dict()
    d.pop('data_preprocessor', None)
    d['model'].pop('data_preprocessor', None)
    d['train_dataloader']['dataset'].pop('pipeline')
    return d


def batch_ops_of(pipeline: list) -> list:
    """The batched ops (type, attributes) that stand for the random
    transforms of a per-sample CIFAR train pipeline (ApplyInBGR unwrapped:
    the batch is RGB, and BatchColorJitter models the jitter as it runs
    in ApplyInBGR)."""
    ops = []
    for t in unwrap_bgr(pipeline):
        if t.type == 'RandomCrop':
            size = t.crop_size
            ops.append(('BatchRandomCrop', dict(
                crop_size=(size, size) if isinstance(size, int) else
                tuple(size), padding=t.padding,
                pad_val=float(t.get('pad_val', 0)))))
        elif t.type == 'RandomFlip':
            ops.append(('BatchRandomFlip', dict(prob=t.prob,
                                                direction=t.direction)))
        elif t.type == 'RandomApply':
            (jitter, ) = t.transforms
            assert jitter.type == 'ColorJitter'
            ranges = tuple((max(0., 1 - v), 1 + v) for v in (
                jitter.brightness, jitter.contrast, jitter.saturation)) + (
                    (-jitter.hue, jitter.hue), )
            ops.append(('BatchColorJitter', dict(ranges=ranges,
                                                 prob=t.prob)))
        elif t.type == 'RandomGrayscale':
            assert t.keep_channels
            ops.append(('BatchRandomGrayscale', dict(
                prob=t.prob, channel_weights=tuple(t.channel_weights))))
        else:
            assert t.type == 'PackInputs', t.type
    return ops


def view_ops(pre: BatchAugDataPreprocessor) -> list:
    assert len(pre.views) == 1
    return [(type(op).__name__, {k: getattr(op, k) for k in op.repr_keys})
            for op in pre.views[0]]


def assert_ops_equal(got: list, expected: list) -> None:
    assert [t for t, _ in got] == [t for t, _ in expected]
    for (name, attrs), (_, want) in zip(got, expected):
        assert set(attrs) == set(want), name
        for key, value in want.items():
            msg = f'{name}.{key}: {attrs[key]!r} != {value!r}'
            if isinstance(value, str):
                assert attrs[key] == value, msg
            else:  # numbers: 1 - 0.8 is 0.19999999999999996
                assert np.allclose(np.array(attrs[key], dtype=float),
                                   np.array(value, dtype=float),
                                   rtol=0, atol=1e-12), msg


@pytest.mark.parametrize('kind', KINDS)
def test_only_the_train_data_path_differs_from_the_reference(kind):
    ours, ref = load(batchaug_path(kind)), load(reference_path(kind))
    assert ours.train_dataloader.dataset.pipeline == [dict(type='PackInputs')]
    mine, theirs = data_only(ours), data_only(ref)
    # the variants add only their view lists (``*_view``)
    extra = set(mine) - set(theirs)
    assert extra and all(k.endswith('_view') for k in extra), extra
    assert {k: v for k, v in mine.items() if k not in extra} == theirs
    # the model's and the top-level preprocessor are the same dict, and
    # only the type and the views change from the reference's
    assert ours.model.data_preprocessor == ours.data_preprocessor
    pre, ref_pre = ours.model.data_preprocessor.to_dict(), \
        ref.model.data_preprocessor.to_dict()
    assert pre.pop('type') == 'BatchAugDataPreprocessor'
    assert ref_pre.pop('type') == 'ClsDataPreprocessor'
    pre.pop('views')
    assert pre == ref_pre == dict(num_classes=10, mean=[0.] * 3,
                                  std=[255.] * 3, to_rgb=False)


@pytest.mark.parametrize('kind', KINDS)
def test_built_preprocessor_holds_the_reference_ops(kind, teacher_ckpt):
    ours, ref = load(batchaug_path(kind)), load(reference_path(kind))
    model = build(ours, teacher_ckpt)
    ref_model = build(ref, teacher_ckpt)
    assert type(model).__name__ == type(ref_model).__name__ == (
        'CBDDistiller' if kind == 'cbd' else 'ImageClassifier')
    pre, ref_pre = model.data_preprocessor, ref_model.data_preprocessor
    assert isinstance(pre, BatchAugDataPreprocessor)
    assert type(ref_pre) is ClsDataPreprocessor
    got = view_ops(pre)
    assert_ops_equal(got, EXPECTED_VIEW[kind])
    # the same ops as the reference's per-sample pipeline
    assert_ops_equal(got,
                     batch_ops_of(ref.train_dataloader.dataset.pipeline))
    # CBD's normalisation: mean 0, std 255, no channel reversal
    assert torch.equal(pre.mean, ref_pre.mean) and \
        torch.equal(pre.std, ref_pre.std)
    assert pre.mean.flatten().tolist() == [0.] * 3
    assert pre.std.flatten().tolist() == [255.] * 3
    assert not pre.bgr_inputs and not ref_pre.to_rgb
    assert norm_signature(pre) == norm_signature(ref_pre)
    assert pre.num_classes == ref_pre.num_classes == 10


@pytest.mark.parametrize('kind', KINDS)
def test_preprocessor_augments_in_training_and_equals_reference_in_eval(
        kind, teacher_ckpt):
    pre = build(load(batchaug_path(kind)), teacher_ckpt).data_preprocessor
    ref_pre = build(load(reference_path(kind)),
                    teacher_ckpt).data_preprocessor
    data = tiny_batch()
    plain = ref_pre(tiny_batch(), False)['inputs']
    torch.manual_seed(0)
    out = pre(data, True)
    x = out['inputs']
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32
    assert x.shape == (8, 3, 32, 32)
    assert torch.isfinite(x).all() and x.min() >= 0 and x.max() <= 1
    changed = (x != plain).flatten(1).any(1)
    assert changed.sum() >= 4, changed  # crop + flip: nearly every sample
    assert [int(s.gt_label) for s in out['data_samples']] == \
        [int(s.gt_label) for s in data['data_samples']]
    # the caller's uint8 batch is left as it was
    assert data['inputs'].dtype == torch.uint8
    assert torch.equal(data['inputs'], tiny_batch()['inputs'])
    # eval: only normalised, exactly as the per-sample config's
    ours = pre(tiny_batch(), False)
    ref = ref_pre(tiny_batch(), False)
    assert torch.equal(ours['inputs'], ref['inputs'])
    assert torch.equal(ours['inputs'], data['inputs'].float() / 255.)
    assert [int(s.gt_label) for s in ours['data_samples']] == \
        [int(s.gt_label) for s in ref['data_samples']]


def _jitter_against_per_sample(jitter, ref_cfg, images):
    """``|batched - per-sample|`` per image, for the same draws (all
    applied) of ``jitter`` and the per-sample ``ref_cfg``."""
    batch = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    torch.manual_seed(0)
    params = jitter.sample_params(batch)
    params['apply'][:] = True
    out = to_nhwc(jitter(batch.clone(), params))
    assert not np.array_equal(out, to_nhwc(batch))
    hue = jitter.ranges[3] is not None
    diffs = []
    for i, img in enumerate(images):
        ref = per_sample_jitter(ref_cfg, img, params, i, hue)
        diffs.append(np.abs(out[i] - ref))
    return np.stack(diffs)


def test_aug_teacher_colour_ops_equal_the_per_sample_pipeline():
    """At CBD's strengths (0.8, 0.8, 0.8, hue 0.2) the built
    BatchColorJitter is the reference pipeline's ApplyInBGR(ColorJitter) on
    the RGB arrays for the same draws, bit-exact, hue included;
    BatchRandomGrayscale equals the reference's RandomGrayscale."""
    kind = 'cbd-teacher-aug'
    cfg = load(batchaug_path(kind))
    pre = MODELS.build(cfg.model.data_preprocessor)
    jitter, gray = pre.views[0][2], pre.views[0][3]
    pipeline = load(reference_path(kind)).train_dataloader.dataset.pipeline
    (wrapper, ) = [t for t in pipeline if t.type == 'ApplyInBGR']
    assert wrapper.channel_order == 'rgb'
    # the wrapped jitter without its RandomApply (its prob: tested above)
    (ref_jitter, ) = wrapper.transforms[0].transforms
    assert ref_jitter.hue == jitter.ranges[3][1] == 0.2
    images = make_images(24)
    diff = _jitter_against_per_sample(
        jitter, dict(wrapper.to_dict(), transforms=[ref_jitter.to_dict()]),
        images)
    assert not diff.any(), (diff > 0).mean()
    (ref_gray, ) = [t for t in pipeline if t.type == 'RandomGrayscale']
    batch = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    grey = to_nhwc(gray(batch, dict(gray=torch.ones(len(images),
                                                    dtype=torch.bool))))
    for i, img in enumerate(images):
        np.testing.assert_array_equal(
            grey[i], per_sample(dict(ref_gray.to_dict(), prob=1.), img))


def _teacher_state(model) -> dict:
    return {k: v.detach().clone().numpy().tobytes()
            for k, v in model.teachers.state_dict().items()}


def test_student_builds_with_per_sample_teacher_and_trains_a_step(
        teacher_ckpt):
    cfg = load(batchaug_path('cbd'))
    (spec, ) = cfg.model.teachers
    # the teacher keeps its own per-sample stage-1 config
    assert spec.config == reference_path('cbd-teacher')
    model = build(cfg, teacher_ckpt)
    assert type(model).__name__ == 'CBDDistiller'
    assert model.missing_teachers is None and len(model.teachers) == 1
    teacher = model.teachers[0]
    assert type(teacher.data_preprocessor) is ClsDataPreprocessor
    assert norm_signature(teacher.data_preprocessor) == \
        norm_signature(model.data_preprocessor)
    # the teacher holds the checkpoint's weights
    saved = torch.load(teacher_ckpt, map_location='cpu')['state_dict']
    for k, v in teacher.state_dict().items():
        assert torch.equal(v, saved[k]), k
    before = _teacher_state(model)
    student = {n: p.detach().clone() for n, p in model.named_parameters()
               if not n.startswith('teachers.')}
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    torch.manual_seed(0)
    log_vars = model.train_step(tiny_batch(), optim_wrapper)
    assert {'loss', 'loss_cls', 'loss_distill'} <= set(log_vars)
    assert all(torch.isfinite(torch.as_tensor(v)).all()
               for v in log_vars.values())
    assert float(log_vars['loss_distill'].detach()) > 0
    assert _teacher_state(model) == before
    assert not any(m.training for m in model.teachers.modules())
    assert all(p.grad is None for p in model.teachers.parameters())
    moved = [n for n, p in model.named_parameters()
             if n in student and not torch.equal(p.detach(), student[n])]
    assert moved, 'the step changed no student parameter'


@pytest.mark.parametrize('teacher_kind', ['cbd-teacher', 'cbd-teacher-aug'])
def test_student_accepts_batchaug_teachers(teacher_kind, teacher_ckpt):
    """A teacher trained with a batchaug stage-1 config normalises as the
    student does, so the preprocessor check lets it in; one with another
    normalisation is still refused."""
    cfg = load(batchaug_path('cbd'))
    model = build(cfg, teacher_ckpt, [batchaug_path(teacher_kind)])
    teacher = model.teachers[0]
    assert isinstance(teacher.data_preprocessor, BatchAugDataPreprocessor)
    assert norm_signature(teacher.data_preprocessor) == \
        norm_signature(model.data_preprocessor)
    data = model.data_preprocessor(tiny_batch(), True)
    losses = model(**data, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    # the check is live for a batchaug student
    other = copy.deepcopy(load(batchaug_path(teacher_kind)).model)
    other.data_preprocessor.std = [1., 1., 1.]
    with pytest.raises(ValueError, match='differs from the student'):
        build(cfg, teacher_ckpt, [other])
