# Copyright (c) ltplug contributors. All rights reserved.
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

NUM_CLASSES = 5
GAP = dict(type='GlobalAveragePooling')
STAGE2 = dict(
    type='SSDLWSClassifier',
    backbone=dict(type='CIFARResNet', depth=20),
    neck=GAP,
    head=dict(type='LWSHead', num_classes=NUM_CLASSES, in_channels=64),
    init_checkpoint='/does/not/matter/stage1.pth')  # dropped for teachers


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Two threads on this shared 2-core machine are ~5x slower than one."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def teacher_checkpoint(tmp_path, num_classes=NUM_CLASSES, name='stage2'):
    torch.manual_seed(2)
    cfg = copy.deepcopy(STAGE2)
    cfg['head']['num_classes'] = num_classes
    cfg['init_checkpoint'] = None
    model = MODELS.build(cfg)
    model.init_weights()
    with torch.no_grad():
        model.head.scales.uniform_(0.5, 2.)
    path = str(tmp_path / f'{name}.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return model, path


def build(tmp_path, path=None, **overrides):
    if path is None:
        _, path = teacher_checkpoint(tmp_path)
    cfg = dict(
        type='SSDDistiller',
        backbone=dict(type='CIFARResNet', depth=20),
        neck=GAP,
        head=dict(type='LinearClsHead', num_classes=NUM_CLASSES,
                  in_channels=64),
        teachers=[dict(config=copy.deepcopy(STAGE2), checkpoint=path)])
    cfg.update(overrides)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def samples(labels):
    return [DataSample().set_gt_label(int(y)) for y in labels]


def teacher_state(model):
    return {k: v.clone() for k, v in model.teacher.state_dict().items()}


def test_teacher_is_loaded_and_gives_calibrated_logits(tmp_path):
    ref, path = teacher_checkpoint(tmp_path)
    model = build(tmp_path, path)
    for k, v in ref.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[k], v), k
    x = torch.randn(4, 3, 16, 16)
    ref.train()  # official mode: batch statistics
    model.train()
    with torch.no_grad():
        feat = ref.neck(ref.backbone(x))[-1]
        expected = ref.head.scales * ref.head.fc(feat)
    torch.testing.assert_close(model.teacher_logits(x), expected)


def test_losses_are_ce_plus_kd_on_same_batch(tmp_path):
    model = build(tmp_path).train()
    seen = []
    model.teacher.backbone.register_forward_pre_hook(
        lambda m, a: seen.append(a[0]))
    model.backbone.register_forward_pre_hook(lambda m, a: seen.append(a[0]))
    x = torch.randn(4, 3, 16, 16)
    labels = [0, 1, 2, 4]
    t_logits = model.teacher_logits(x)
    losses = model(x, samples(labels), mode='loss')
    assert set(losses) >= {'loss_hard', 'loss_kd'}
    assert all(s is x for s in seen) and len(seen) == 3
    with torch.no_grad():
        feats = model.extract_feat(x)
        hard = model.head(feats)
        soft = model.soft_head(feats)
    torch.testing.assert_close(
        losses['loss_hard'],
        torch.nn.functional.cross_entropy(hard, torch.tensor(labels)))
    kd = MODELS.build(dict(type='KDLoss', temperature=2., loss_weight=1.))
    torch.testing.assert_close(losses['loss_kd'], kd(soft, t_logits))
    assert not torch.equal(hard, soft)  # two independent heads


@pytest.mark.parametrize('bn_mode', ['train', 'eval'])
def test_teacher_frozen_and_byte_identical(tmp_path, bn_mode):
    model = build(tmp_path, teacher_bn_mode=bn_mode).train()
    assert model.teacher.training == (bn_mode == 'train')
    assert not any(p.requires_grad for p in model.teacher.parameters())
    before = teacher_state(model)
    student_before = model.backbone.conv1.weight.clone()
    optim = build_optim_wrapper(
        model,
        dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9,
                            weight_decay=5e-4),
             paramwise_cfg=dict(norm_decay_mult=1.)))
    in_optim = {id(p) for g in optim.optimizer.param_groups
                for p in g['params']}
    assert not any(id(p) in in_optim for p in model.teacher.parameters())
    for step in range(3):
        losses = model(torch.randn(4, 3, 16, 16), samples([0, 1, 2, step]),
                       mode='loss')
        optim.update_params(model.parse_losses(losses)[0])
    assert all(p.grad is None for p in model.teacher.parameters())
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert not torch.equal(model.backbone.conv1.weight, student_before)
    # the Runner's init_weights does not re-initialise the teacher
    model.init_weights()
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_state_dict_and_ddp_ignore(tmp_path):
    model = build(tmp_path)
    state = model.state_dict()
    assert not any(k.startswith(('teacher.', 'teachers.')) for k in state)
    assert any(k.startswith('soft_head.fc.') for k in state)
    other = build(tmp_path)
    other.load_state_dict(state)  # strict, teacher kept
    assert model.teacher is model.teachers[0]
    ignored = set(model._ddp_params_and_buffers_to_ignore)
    teacher_names = {'teachers.0.' + n for n, _ in
                     model.teacher.named_parameters()}
    teacher_names |= {'teachers.0.' + n for n, _ in
                      model.teacher.named_buffers()}
    assert ignored == teacher_names and teacher_names
    assert build(tmp_path, save_teachers=True).state_dict().keys() >= \
        {'teachers.0.head.scales'}


def test_checkpoint_saved_with_the_old_teacher_prefix_loads(tmp_path):
    """A state dict saved with the teacher under the earlier ``teacher.``
    prefix loads strictly: the keys are mapped onto ``teachers.0.``."""
    ref, path = teacher_checkpoint(tmp_path)
    full = build(tmp_path, path, save_teachers=True).state_dict()
    old = type(full)((k.replace('teachers.0.', 'teacher.', 1), v)
                     for k, v in full.items())
    old._metadata = type(full._metadata)(
        (k.replace('teachers.0', 'teacher', 1), v)
        for k, v in full._metadata.items())
    assert 'teacher.head.scales' in old
    other = build(tmp_path, path)
    with torch.no_grad():
        other.teacher.head.scales.zero_()
    other.load_state_dict(old, strict=True)
    assert torch.equal(other.teacher.head.scales, ref.head.scales)
    assert 'teacher.head.scales' in old  # the caller's dict is unchanged
    # a student-only checkpoint loads unchanged, the teacher kept
    student = build(tmp_path, path).state_dict()
    other.load_state_dict(student, strict=True)
    assert torch.equal(other.teacher.head.scales, ref.head.scales)


def test_deprecated_argument_names_warn_and_work(tmp_path):
    _, path = teacher_checkpoint(tmp_path)
    spec = dict(config=copy.deepcopy(STAGE2), checkpoint=path)
    with pytest.warns(DeprecationWarning, match='`teacher` is deprecated'):
        old = build(tmp_path, path, teachers=None, teacher=spec)
    assert old.teacher is old.teachers[0]
    with pytest.warns(DeprecationWarning,
                      match='`save_teacher` is deprecated'):
        saved = build(tmp_path, path, save_teacher=True)
    assert saved.save_teachers and saved.save_teacher
    assert 'teachers.0.head.scales' in saved.state_dict()
    # the old --cfg-options model.teacher.checkpoint=PATH on a config with
    # `teachers`: the given keys update the one spec
    with pytest.warns(DeprecationWarning):
        merged = build(tmp_path, path, teacher=dict(checkpoint=path),
                       teachers=[dict(config=copy.deepcopy(STAGE2),
                                      checkpoint='/not/there.pth')])
    assert merged.teacher is not None and merged.missing_teacher is None
    # teacher=None (the old predict-only build) drops `teachers`
    with pytest.warns(DeprecationWarning):
        bare = MODELS.build(dict(
            type='SSDDistiller',
            backbone=dict(type='CIFARResNet', depth=20),
            neck=GAP,
            head=dict(type='LinearClsHead', num_classes=NUM_CLASSES,
                      in_channels=64),
            teachers=[spec], teacher=None))
    assert bare.teacher is None and len(bare.teachers) == 0
    with pytest.raises(ValueError, match='one teacher, but got 2'):
        build(tmp_path, path, teachers=[spec, spec])
    # a single dict is one teacher
    assert build(tmp_path, path, teachers=spec).teacher is not None


def test_predict_soft_or_hard_and_both_logged(tmp_path):
    x = torch.randn(3, 3, 16, 16)
    for which, idx in (('soft', 1), ('hard', 0)):
        model = build(tmp_path, predict_head=which).eval()
        with torch.no_grad():
            out = model(x, samples([0, 1, 2]), mode='predict')
            feats = model.extract_feat(x)
            both = [model.head(feats), model.soft_head(feats)]
            tensor = model(x)
        for b, ds in enumerate(out):
            torch.testing.assert_close(ds.pred_score, both[idx][b].softmax(0))
            torch.testing.assert_close(ds.expert_logits,
                                       torch.stack([both[0][b], both[1][b]]))
        torch.testing.assert_close(tensor, both[idx])


def test_teacher_from_config_file(tmp_path):
    _, path = teacher_checkpoint(tmp_path)
    cfg_file = tmp_path / 'stage2_cfg.py'
    cfg_file.write_text(
        f'model = {STAGE2!r}\n'
        "data_preprocessor = dict(type='ClsDataPreprocessor')\n")
    model = build(tmp_path, path,
                  teachers=[dict(config=str(cfg_file), checkpoint=path)])
    assert model.teacher.init_checkpoint is None
    assert model.teacher_names == ['SSD teacher ("stage2_cfg.py")']


def test_build_time_errors_name_file_and_mismatch(tmp_path):
    _, path7 = teacher_checkpoint(tmp_path, num_classes=7, name='c7')
    teacher7 = copy.deepcopy(STAGE2)
    teacher7['head']['num_classes'] = 7
    # teacher config with another number of classes than the student
    with pytest.raises(ValueError, match='7 classes'):
        build(tmp_path, teachers=[dict(config=teacher7, checkpoint=path7)])
    # checkpoint with another number of classes than the teacher config
    with pytest.raises(ValueError, match=r'c7\.pth.*head\.'):
        build(tmp_path, path7)
    # checkpoint of another architecture: keys that do not fit
    other = MODELS.build(dict(type='ImageClassifier',
                              backbone=dict(type='CIFARResNet', depth=20),
                              neck=GAP,
                              head=dict(type='LinearClsHead',
                                        num_classes=NUM_CLASSES,
                                        in_channels=64)))
    bad = str(tmp_path / 'plain.pth')
    torch.save({'state_dict': other.state_dict()}, bad)
    with pytest.raises(ValueError, match=r'plain\.pth.*head\.scales'):
        build(tmp_path, bad)
    # a missing file: built for prediction, training raises naming it
    missing = MODELS.build(dict(
        type='SSDDistiller',
        backbone=dict(type='CIFARResNet', depth=20),
        neck=GAP,
        head=dict(type='LinearClsHead', num_classes=NUM_CLASSES,
                  in_channels=64),
        teachers=[dict(config=copy.deepcopy(STAGE2),
                       checkpoint=str(tmp_path / 'missing.pth'))]))
    assert missing.teacher is None and 'missing.pth' in missing.missing_teacher
    assert missing.missing_teachers == missing.missing_teacher
    x = torch.randn(2, 3, 16, 16)
    assert len(missing(x, samples([0, 1]), mode='predict')) == 2
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        missing.init_weights()
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        missing(x, samples([0, 1]), mode='loss')
    with pytest.raises(FileNotFoundError, match='absent_cfg.py'):
        # build() calls init_weights(), as the Runner does before training
        build(tmp_path, teachers=[dict(
            config=str(tmp_path / 'absent_cfg.py'), checkpoint=path7)])
    with pytest.raises(ValueError, match='no `checkpoint`.*stage II'):
        build(tmp_path, teachers=[dict(config=STAGE2, checkpoint=None)])
    with pytest.raises(KeyError, match=r"unknown key\(s\) \['ckpt'\]"):
        build(tmp_path, teachers=[dict(config=STAGE2, ckpt=path7)])
    with pytest.raises(ValueError, match="'warm'"):
        build(tmp_path, teacher_bn_mode='warm')


@pytest.mark.parametrize('bn_mode', ['train', 'eval'])
def test_teacher_bn_mode_overrides_the_stage2_setting(tmp_path, bn_mode):
    _, path = teacher_checkpoint(tmp_path)
    other = 'eval' if bn_mode == 'train' else 'train'
    cfg = copy.deepcopy(STAGE2)
    cfg['frozen_bn_mode'] = other
    model = build(tmp_path, path,
                  teachers=[dict(config=cfg, checkpoint=path)],
                  teacher_bn_mode=bn_mode).train()
    assert model.teacher.frozen_bn_mode == bn_mode
    assert model.teacher.backbone.training == (bn_mode == 'train')
    assert model.backbone.training


def _bns(module):
    return [m for m in module.modules()
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def test_train_mode_teacher_uses_batch_stats_without_copying_buffers(
        tmp_path, monkeypatch):
    """Same logits as a tracked train-mode forward (the old
    copy-and-restore), buffers byte-identical, and no buffer copied."""
    model = build(tmp_path, teacher_bn_mode='train').train()
    before = teacher_state(model)
    tracked = copy.deepcopy(model.teacher).train()
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        want = tracked(x, mode='tensor')
    # the tracked forward moves the statistics; teacher_logits must not
    moved = [k for k, v in tracked.state_dict().items()
             if not torch.equal(v, before[k])]
    assert any('running_mean' in k for k in moved)
    assert any('num_batches_tracked' in k for k in moved)
    clones = []
    real_clone = torch.Tensor.clone

    def spy_clone(self, *args, **kwargs):
        clones.append(tuple(self.shape))
        return real_clone(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, 'clone', spy_clone)
    got = model.teacher_logits(x)
    monkeypatch.undo()
    assert clones == []
    assert torch.equal(got, want)
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(m.track_running_stats for m in _bns(model.teacher))
    # the switch is undone when the teacher's forward raises
    with pytest.raises(RuntimeError):
        model.teacher_logits(torch.randn(4, 5, 16, 16))
    assert all(m.track_running_stats for m in _bns(model.teacher))
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, before[k]), k
