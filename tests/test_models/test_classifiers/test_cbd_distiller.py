# Copyright (c) ltplug contributors. All rights reserved.
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.runner.checkpoint import load_checkpoint
from mmpretrain.models import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

PREPROC = dict(type='ClsDataPreprocessor', mean=[0., 0., 0.],
               std=[255., 255., 255.], num_classes=10)


def teacher_cfg(num_classes=10, base_channels=16, preproc=PREPROC):
    """A CBD stage-1 teacher: CIFAR ResNet-20 + cosine head (scale 20)."""
    width = base_channels * 4
    return dict(
        type='ImageClassifier',
        backbone=dict(type='CIFARResNet', depth=20,
                      base_channels=base_channels,
                      stem_channels=base_channels),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='CosineClsHead', num_classes=num_classes,
                  in_channels=width, scale=20.,
                  loss=dict(type='CrossEntropyLoss')),
        data_preprocessor=preproc)


def student_cfg(teachers, proj=None, num_classes=10):
    proj = proj or 64 * len(teachers)
    return dict(
        type='CBDDistiller',
        backbone=dict(type='CIFARResNet', depth=20),
        neck=dict(type='LinearNeck', in_channels=64, out_channels=proj,
                  gap_dim=2, norm_cfg=None, act_cfg=dict(type='ReLU')),
        head=dict(type='CosineClsHead', num_classes=num_classes,
                  in_channels=proj, scale=20.,
                  loss=dict(type='CrossEntropyLoss')),
        teachers=teachers,
        alpha=0.4,
        distill_loss=dict(type='CosineFeatureDistillLoss', loss_weight=100.),
        data_preprocessor=PREPROC)


def make_teacher_ckpt(path, seed, **kw):
    torch.manual_seed(seed)
    model = MODELS.build(teacher_cfg(**kw))
    model.init_weights()
    # make BN buffers non-trivial so that a stray update would show
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.9, 1.1)
    torch.save(dict(state_dict=model.state_dict()), str(path))
    return str(path)


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    d = tmp_path_factory.mktemp('cbd_teachers')
    return [make_teacher_ckpt(d / f't{i}.pth', seed=i) for i in range(2)]


def teachers_spec(ckpts, k):
    return [dict(config=teacher_cfg(), checkpoint=ckpts[i % len(ckpts)],
                 name=f't{i}') for i in range(k)]


def batch(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (3, 32, 32), generator=g,
                            dtype=torch.uint8) for _ in range(n)]
    samples = [DataSample().set_gt_label(i % 10) for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('k', [1, 4])  # K = 2: the tests below
def test_build_and_losses(ckpts, k):
    model = MODELS.build(student_cfg(teachers_spec(ckpts, k)))
    assert len(model.teachers) == k
    assert model.teacher_widths == [64] * k
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_cls', 'loss_distill'}
    assert torch.isfinite(losses['loss_cls'])
    # loss_distill = 0.4 * 100 * mean(1 - cos) with cos in [-1, 1]
    assert 0 <= losses['loss_distill'].item() <= 80.0
    preds = model(**data, mode='predict')
    assert preds[0].pred_score.shape == (10, )


def test_loss_is_the_documented_combination(ckpts):
    model = MODELS.build(student_cfg(teachers_spec(ckpts, 2)))
    model.train()
    data = model.data_preprocessor(batch(), True)
    torch.manual_seed(0)
    losses = model(**data, mode='loss')
    inputs = data['inputs']
    feats = model.extract_feat(inputs)
    ce = model.head.loss(feats, data['data_samples'])['loss']
    s = torch.nn.functional.normalize(feats[-1], dim=1)
    ts = []
    for t in model.teachers:
        f = t.neck(t.backbone(inputs))[-1]
        ts.append(torch.nn.functional.normalize(f, dim=1))
    tcat = torch.nn.functional.normalize(torch.cat(ts, 1), dim=1)
    fd = (1 - (s * tcat).sum(1)).mean()
    torch.testing.assert_close(losses['loss_cls'], 0.6 * ce)
    torch.testing.assert_close(losses['loss_distill'], 0.4 * 100 * fd)


def test_teachers_frozen_and_byte_identical_after_steps(ckpts):
    model = MODELS.build(student_cfg(teachers_spec(ckpts, 2)))
    model.init_weights()  # what the Runner does: must not touch teachers
    ref = [copy.deepcopy(t.state_dict()) for t in model.teachers]
    # the teachers hold exactly their checkpoints
    for i, t in enumerate(model.teachers):
        saved = torch.load(ckpts[i])['state_dict']
        for key, v in t.state_dict().items():
            assert torch.equal(v, saved[key]), key
    student_before = copy.deepcopy(model.backbone.state_dict())
    optim = build_optim_wrapper(model, dict(optimizer=dict(
        type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4)))
    model.train()
    for step in range(2):
        model.train_step(batch(seed=step), optim)
        assert all(not t.training for t in model.teachers)
        assert all(not m.training for t in model.teachers
                   for m in t.modules())
    assert model.training and model.backbone.training
    for t, r in zip(model.teachers, ref):
        sd = t.state_dict()
        assert sd.keys() == r.keys()
        for key in r:  # weights and BN buffers, num_batches_tracked too
            assert torch.equal(sd[key], r[key]), key
        for p in t.parameters():
            assert not p.requires_grad and p.grad is None
    # no optimizer state for any teacher parameter
    teacher_ids = {id(p) for p in model.teachers.parameters()}
    state_ids = {id(p) for p in optim.optimizer.state}
    assert state_ids and not state_ids & teacher_ids
    # the student did learn
    changed = [k for k, v in model.backbone.state_dict().items()
               if not torch.equal(v, student_before[k])]
    assert changed


def test_one_forward_per_teacher_per_step_without_grad(ckpts):
    model = MODELS.build(student_cfg(teachers_spec(ckpts, 4)))
    calls = []

    def hook(module, args, output):
        calls.append((args[0].shape[0], torch.is_grad_enabled()))

    for t in model.teachers:
        t.backbone.register_forward_hook(hook)
    optim = build_optim_wrapper(
        model, dict(optimizer=dict(type='SGD', lr=0.1)))
    model.train_step(batch(n=6), optim)
    assert calls == [(6, False)] * 4


def test_checkpoint_keys_and_loading(ckpts, tmp_path):
    model = MODELS.build(student_cfg(teachers_spec(ckpts, 2)))
    sd = model.state_dict()
    assert not any(k.startswith('teachers.') for k in sd)
    assert any(k.startswith('backbone.') for k in sd)
    # the student-only state dict loads strictly into the distiller (the
    # teachers keep their weights) ...
    other = MODELS.build(student_cfg(teachers_spec(ckpts[::-1], 2)))
    teacher_before = copy.deepcopy(other.teachers.state_dict())
    other.load_state_dict(sd, strict=True)
    for key, v in other.teachers.state_dict().items():
        assert torch.equal(v, teacher_before[key])
    torch.testing.assert_close(other.backbone.state_dict(),
                               model.backbone.state_dict())
    # ... and into a plain ImageClassifier with the student's layout
    cfg = student_cfg([], proj=128)  # the layout of ``model`` (2 x 64)
    for key in ('teachers', 'alpha', 'distill_loss'):
        cfg.pop(key)
    cfg['type'] = 'ImageClassifier'
    plain = MODELS.build(cfg)
    assert isinstance(plain, ImageClassifier)
    plain.load_state_dict(sd, strict=True)
    # what the Runner does on resume / load_from (MMEngine's own recursive
    # loader, strict): a student-only checkpoint file loads, teachers kept
    path = str(tmp_path / 'student.pth')
    torch.save(dict(state_dict=sd), path)
    again = MODELS.build(student_cfg(teachers_spec(ckpts[::-1], 2)))
    load_checkpoint(again, path, map_location='cpu', strict=True)
    for key, v in again.teachers.state_dict().items():
        assert torch.equal(v, teacher_before[key])
    torch.testing.assert_close(again.head.state_dict(),
                               model.head.state_dict())
    # with save_teachers the teachers are in the state dict
    cfg = student_cfg(teachers_spec(ckpts, 2))
    cfg['save_teachers'] = True
    full = MODELS.build(cfg)
    assert any(k.startswith('teachers.1.') for k in full.state_dict())
    model.load_state_dict(full.state_dict(), strict=True)


def test_ddp_ignores_teachers(ckpts):
    model = MODELS.build(student_cfg(teachers_spec(ckpts, 1)))
    ignored = set(model._ddp_params_and_buffers_to_ignore)
    names = {n for n, _ in model.named_parameters()} | {
        n for n, _ in model.named_buffers()}
    assert ignored == {n for n in names if n.startswith('teachers.')}
    assert 'teachers.0.backbone.bn1.running_mean' in ignored


def test_no_teachers_predicts_but_cannot_train():
    model = MODELS.build(student_cfg([], proj=64))
    data = model.data_preprocessor(batch(), False)
    assert len(model(**data, mode='predict')) == 6
    with pytest.raises(RuntimeError, match='no teachers'):
        model(**data, mode='loss')


def test_error_feature_width_mismatch(ckpts, tmp_path):
    # one 64-d teacher but a projection to 128 (sized for 2 teachers)
    with pytest.raises(ValueError,
                       match=r'\("t0"\) gives 64-d.*128-d features for 1'):
        MODELS.build(student_cfg(teachers_spec(ckpts, 1), proj=128))
    # a 32-d teacher among 64-d ones
    narrow = make_teacher_ckpt(tmp_path / 'narrow.pth', 3, base_channels=8)
    spec = teachers_spec(ckpts, 2)
    spec[1] = dict(config=teacher_cfg(base_channels=8), checkpoint=narrow,
                   name='narrow')
    with pytest.raises(ValueError,
                       match=r'\("narrow"\) gives 32-d features.*64 per'):
        MODELS.build(student_cfg(spec))


def assert_predicts_but_training_raises(model, match):
    """Built without teachers: predicts; init_weights (the Runner's first
    training call) and the loss raise FileNotFoundError matching ``match``."""
    assert len(model.teachers) == 0
    assert not any(k.startswith('teachers.') for k in model.state_dict())
    data = model.data_preprocessor(batch(), False)
    assert len(model(**data, mode='predict')) == 6
    with pytest.raises(FileNotFoundError, match=match):
        model.init_weights()
    with pytest.raises(FileNotFoundError, match=match):
        model(**data, mode='loss')


def test_error_missing_checkpoint(ckpts, tmp_path):
    spec = teachers_spec(ckpts, 2)
    spec[1]['checkpoint'] = str(tmp_path / 'nope.pth')
    model = MODELS.build(student_cfg(spec))
    assert model.missing_teachers is not None
    assert_predicts_but_training_raises(model, r't1.*nope\.pth')
    spec[1]['checkpoint'] = None
    with pytest.raises(ValueError, match=r't1.*no `checkpoint`'):
        MODELS.build(student_cfg(spec))
    spec[1] = dict(config=str(tmp_path / 'missing_cfg.py'),
                   checkpoint=ckpts[0])
    assert_predicts_but_training_raises(
        MODELS.build(student_cfg(spec)), 'missing_cfg.py')


def test_missing_teacher_student_checkpoint_loads_strictly(ckpts, tmp_path):
    """A student checkpoint loads strictly into the teacher-less build and
    gives the same predictions as the full model."""
    full = MODELS.build(student_cfg(teachers_spec(ckpts, 2))).eval()
    spec = teachers_spec(ckpts, 2)
    spec[0]['checkpoint'] = str(tmp_path / 'absent.pth')
    bare = MODELS.build(student_cfg(spec)).eval()
    bare.load_state_dict(full.state_dict(), strict=True)
    data = full.data_preprocessor(batch(), False)
    with torch.no_grad():
        a = full(data['inputs'], mode='tensor')
        b = bare(data['inputs'], mode='tensor')
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_error_teacher_with_other_number_of_classes(ckpts, tmp_path):
    ck = make_teacher_ckpt(tmp_path / 'c100.pth', 4, num_classes=100)
    # its config says 100 classes
    spec = [dict(config=teacher_cfg(num_classes=100), checkpoint=ck,
                 name='c100')]
    with pytest.raises(ValueError, match=r'c100.*100 classes.*10 are'):
        MODELS.build(student_cfg(spec))
    # its config says 10 but the checkpoint was trained for 100
    spec = [dict(config=teacher_cfg(), checkpoint=ck, name='c100')]
    with pytest.raises(ValueError, match=r'c100.*head\.fc\.weight.*100'):
        MODELS.build(student_cfg(spec))


def test_error_teacher_preprocessor_differs(ckpts):
    other = dict(PREPROC, mean=[123.675, 116.28, 103.53],
                 std=[58.395, 57.12, 57.375])
    spec = [dict(config=teacher_cfg(preproc=other), checkpoint=ckpts[0],
                 name='imnet_norm')]
    with pytest.raises(ValueError, match='imnet_norm.*preprocessor'):
        MODELS.build(student_cfg(spec))
    cfg = student_cfg(spec)
    cfg['check_preprocessor'] = False
    MODELS.build(cfg)


def test_bad_alpha():
    cfg = student_cfg([], proj=64)
    cfg['alpha'] = 1.5
    with pytest.raises(ValueError, match='1.5'):
        MODELS.build(cfg)


def test_teachers_run_before_the_student(ckpts):
    """The no-grad teacher forwards come first, while no graph is alive
    (a lower peak than on top of the student's graph)."""
    model = MODELS.build(student_cfg(teachers_spec(ckpts, 2))).train()
    order = []
    model.backbone.register_forward_hook(
        lambda *a: order.append(('student', torch.is_grad_enabled())))
    for i, t in enumerate(model.teachers):
        t.backbone.register_forward_hook(
            lambda *a, i=i: order.append((f't{i}', torch.is_grad_enabled())))
    data = model.data_preprocessor(batch(), True)
    model(**data, mode='loss')
    assert order == [('t0', False), ('t1', False), ('student', True)]


def test_teacher_bn_mode_defaults_to_eval_and_train_keeps_stats(ckpts):
    """CBD's default ``teacher_bn_mode`` is 'eval' (the official
    behaviour); 'train' normalises with batch statistics and leaves the
    teachers' buffers byte-identical."""
    model = MODELS.build(student_cfg(teachers_spec(ckpts, 1))).train()
    assert model.teacher_bn_mode == 'eval'
    assert not model.teachers[0].training
    data = model.data_preprocessor(batch(), True)
    eval_feat = model.teacher_features(data['inputs'])[0]
    cfg = student_cfg(teachers_spec(ckpts, 1))
    cfg['teacher_bn_mode'] = 'train'
    model = MODELS.build(cfg).train()
    assert model.teachers[0].training
    before = copy.deepcopy(model.teachers.state_dict())
    train_feat = model.teacher_features(data['inputs'])[0]
    model(**data, mode='loss')
    for key, v in model.teachers.state_dict().items():
        assert torch.equal(v, before[key]), key
    assert not torch.allclose(train_feat, eval_feat)  # batch statistics
    model.eval()
    assert not model.teachers[0].training
    cfg['teacher_bn_mode'] = 'frozen'
    with pytest.raises(ValueError, match="teacher_bn_mode.*'frozen'"):
        MODELS.build(cfg)


def test_teacher_spec_errors_name_the_teacher(ckpts):
    spec = teachers_spec(ckpts, 1)
    spec[0]['ckpt'] = spec[0].pop('checkpoint')
    with pytest.raises(KeyError, match=r't0.*unknown key\(s\).*ckpt'):
        MODELS.build(student_cfg(spec, proj=64))
    with pytest.raises(TypeError, match="teacher 0 must be a dict.*'x'"):
        MODELS.build(student_cfg(['x'], proj=64))
    with pytest.raises(TypeError, match='teachers must be a list of dicts'):
        MODELS.build(student_cfg('x', proj=64))
    # one dict is one teacher
    model = MODELS.build(student_cfg(teachers_spec(ckpts, 1)[0], proj=64))
    assert len(model.teachers) == 1
    assert model.teacher_names == ['teacher 0 ("t0")']
