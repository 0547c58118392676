# Copyright (c) ltplug contributors. All rights reserved.
"""EnsembleDistiller: one student from a frozen NCL ensemble (or any
classifier): its losses against hand-computed ones, the teacher frozen,
out of the optimizer's updates and of the checkpoint, the optional feature
term, predict-only builds and the build-time checks."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ltplug.models.utils.teacher_outputs import teacher_outputs

PREPROC = dict(type='ClsDataPreprocessor', mean=[0., 0., 0.],
               std=[255., 255., 255.], num_classes=5)
BACKBONE = dict(type='CIFARResNet', depth=20, base_channels=4,
                stem_channels=4)
COUNTS = [40, 20, 10, 5, 2]


def head(num_classes=5, loss=None):
    return dict(type='LinearClsHead', num_classes=num_classes,
                in_channels=16,
                loss=loss or dict(type='BalancedSoftmaxLoss',
                                  class_counts=COUNTS))


def ncl_cfg(num_classes=5):
    return dict(type='NCLMultiExpertClassifier', num_experts=3,
                backbone=BACKBONE, neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=num_classes,
                          in_channels=16),
                loss=dict(type='NCLLoss', hcm_n=2), data_preprocessor=PREPROC)


def save_teacher(path, cfg):
    torch.manual_seed(3)
    model = MODELS.build(cfg)
    model.init_weights()
    for m in model.modules():  # non-trivial BN statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.9, 1.1)
    torch.save(dict(state_dict=model.state_dict()), str(path))
    return str(path)


@pytest.fixture(scope='module')
def ncl_ckpt(tmp_path_factory):
    return save_teacher(tmp_path_factory.mktemp('ncl') / 'ncl.pth',
                        ncl_cfg())


def student(ckpt, teacher=None, **kw):
    cfg = dict(type='EnsembleDistiller', backbone=BACKBONE,
               neck=dict(type='GlobalAveragePooling'), head=head(),
               teachers=[dict(config=teacher or ncl_cfg(), checkpoint=ckpt,
                              name='ncl')],
               data_preprocessor=PREPROC)
    cfg.update(kw)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def batch(n=6):
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 256, (3, 16, 16), generator=g,
                            dtype=torch.uint8) for _ in range(n)]
    samples = [DataSample().set_gt_label(i % 5) for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def test_losses_match_hand_computed(ncl_ckpt):
    model = student(ncl_ckpt)
    model.train()
    data = model.data_preprocessor(batch(), True)
    x, samples = data['inputs'], data['data_samples']
    losses = model(x, samples, mode='loss')
    assert set(losses) == {'loss_cls', 'loss_kd'}
    assert not model.teachers[0].training  # teacher_bn_mode='eval'
    with torch.no_grad():
        t_logits, _ = teacher_outputs(model.teachers[0], x)
        logits = model.head(model.extract_feat(x))
        y = torch.cat([s.gt_label for s in samples])
        adjusted = logits + torch.tensor(COUNTS).float().log()
        ce = torch.nn.functional.cross_entropy(adjusted, y)
        p_t = torch.softmax(t_logits / 2, 1)
        kl = (p_t * (p_t.log() - torch.log_softmax(logits / 2, 1))).sum(1)
    assert losses['loss_cls'].item() == pytest.approx(ce.item(), rel=1e-5)
    # KDLoss at T = 2, weight 1: T^2 * batch-mean KL(teacher || student)
    assert losses['loss_kd'].item() == pytest.approx(
        4 * kl.mean().item(), rel=1e-4, abs=1e-7)
    assert losses['loss_kd'].item() > 0
    # the teacher is the NCL ensemble: its logits are the experts' mean
    assert torch.allclose(
        t_logits, model.teachers[0](x, mode='tensor').mean(0))


def test_teacher_frozen_out_of_updates_and_checkpoint(ncl_ckpt):
    model = student(ncl_ckpt)
    before = {k: v.clone() for k, v in model.teachers.state_dict().items()}
    optim = build_optim_wrapper(
        model, dict(optimizer=dict(type='SGD', lr=0.5, momentum=0.9,
                                   weight_decay=1e-2)))
    student_before = model.backbone.conv1.weight.clone()
    model.train()
    for _ in range(2):
        losses = model.train_step(batch(), optim)
    assert set(losses) >= {'loss_cls', 'loss_kd'}
    assert all(not p.requires_grad for p in model.teachers.parameters())
    assert all(p.grad is None for p in model.teachers.parameters())
    for k, v in model.teachers.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert not torch.equal(model.backbone.conv1.weight, student_before)
    state = model.state_dict()
    assert not any(k.startswith('teachers.') for k in state)
    assert any(k.startswith('backbone.') for k in state)
    ignored = set(model._ddp_params_and_buffers_to_ignore)
    assert 'teachers.0.backbones.0.conv1.weight' in ignored
    # a plain ImageClassifier loads the student checkpoint strictly
    plain = MODELS.build(dict(type='ImageClassifier', backbone=BACKBONE,
                              neck=dict(type='GlobalAveragePooling'),
                              head=head(), data_preprocessor=PREPROC))
    plain.load_state_dict(state, strict=True)
    x = torch.rand(2, 3, 16, 16)
    model.eval()
    assert torch.equal(plain.eval()(x, mode='tensor'),
                       model(x, mode='tensor'))


def test_feature_distillation_on(ncl_ckpt):
    model = student(ncl_ckpt, feat_loss=dict(
        type='CosineFeatureDistillLoss', loss_weight=40.))
    # the student's 16-d feature to the 3 experts' 48
    assert tuple(model.projection.weight.shape) == (48, 16)
    model.train()
    data = model.data_preprocessor(batch(), True)
    losses = model(data['inputs'], data['data_samples'], mode='loss')
    assert set(losses) == {'loss_cls', 'loss_kd', 'loss_feat'}
    x = data['inputs']
    with torch.no_grad():
        _, t_feat = teacher_outputs(model.teachers[0], x,
                                    normalize_parts=True)
        s = model.projection(model.head.pre_logits(model.extract_feat(x)))
        cos = torch.nn.functional.cosine_similarity(s, t_feat, dim=1)
    assert losses['loss_feat'].item() == pytest.approx(
        40 * (1 - cos).mean().item(), rel=1e-4)
    losses['loss_feat'].backward()
    assert model.projection.weight.grad is not None
    state = model.state_dict()
    assert 'projection.weight' in state
    # a predict-only build (no teacher, no projection) loads it strictly
    bare = MODELS.build(dict(
        type='EnsembleDistiller', backbone=BACKBONE,
        neck=dict(type='GlobalAveragePooling'), head=head(), teachers=[],
        feat_loss=dict(type='CosineFeatureDistillLoss'),
        data_preprocessor=PREPROC))
    assert not hasattr(bare, 'projection')
    bare.load_state_dict(state, strict=True)
    assert torch.equal(bare.head.fc.weight, model.head.fc.weight)
    assert 'projection.weight' in state  # the caller's dict is kept


def test_weights_and_temperature_are_config_values(ncl_ckpt):
    model = student(ncl_ckpt, kd_loss=dict(type='KDLoss', temperature=4.,
                                           loss_weight=0.5))
    assert model.kd_loss.temperature == 4. and model.kd_loss.loss_weight == .5
    assert model.feat_loss is None and not hasattr(model, 'projection')


def test_image_classifier_teacher(tmp_path):
    cfg = dict(type='ImageClassifier', backbone=BACKBONE,
               neck=dict(type='GlobalAveragePooling'),
               head=dict(type='LinearClsHead', num_classes=5,
                         in_channels=16),
               data_preprocessor=PREPROC)
    ckpt = save_teacher(tmp_path / 'ic.pth', cfg)
    model = student(ckpt, teacher=cfg, feat_loss=dict(
        type='CosineFeatureDistillLoss'))
    assert tuple(model.projection.weight.shape) == (16, 16)
    model.train()
    data = model.data_preprocessor(batch(), True)
    losses = model(data['inputs'], data['data_samples'], mode='loss')
    assert set(losses) == {'loss_cls', 'loss_kd', 'loss_feat'}


def test_predict_only_without_teacher_files(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    cfg = dict(type='EnsembleDistiller', backbone=BACKBONE,
               neck=dict(type='GlobalAveragePooling'), head=head(),
               teachers=[dict(config=ncl_cfg(), checkpoint=missing)],
               data_preprocessor=PREPROC)
    model = MODELS.build(cfg)
    assert len(model.teachers) == 0 and 'nope.pth' in model.missing_teachers
    out = model.eval()(torch.rand(2, 3, 16, 16), mode='predict')
    assert out[0].pred_score.shape == (5, )
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        model.init_weights()
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        data = model.data_preprocessor(batch(), True)
        model.train()(data['inputs'], data['data_samples'], mode='loss')


def test_build_checks(ncl_ckpt, tmp_path):
    ckpt10 = save_teacher(tmp_path / 'ncl10.pth', ncl_cfg(num_classes=10))
    with pytest.raises(ValueError, match='10 classes'):
        student(ckpt10, teacher=ncl_cfg(num_classes=10))
    other = dict(type='ResNet', depth=18)
    torch.save(dict(state_dict=MODELS.build(other).state_dict()),
               str(tmp_path / 'r.pth'))
    with pytest.raises(TypeError, match='ResNet'):
        student(str(tmp_path / 'r.pth'), teacher=other,
                check_preprocessor=False)
    with pytest.raises(ValueError, match='no `checkpoint`'):
        student('')
