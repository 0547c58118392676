# Copyright (c) ltplug contributors. All rights reserved.
import copy

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ltplug.models.classifiers import ssd_queue_size

NUM_CLASSES = 5
DEFAULT_ARGS = dict(
    type='SSDMoCoClassifier',
    backbone=dict(type='CIFARResNet', depth=20),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=NUM_CLASSES, in_channels=64),
    queue_size=12,
    proj_dim=8,
    momentum=0.9,
    data_preprocessor=dict(type='SelfSupDataPreprocessor'))


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Two threads on this shared 2-core machine are ~5x slower than one."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def build(**overrides):
    cfg = copy.deepcopy(DEFAULT_ARGS)
    cfg.update(overrides)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def samples(labels):
    return [DataSample().set_gt_label(int(y)) for y in labels]


def views(b=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, 3, 16, 16, generator=g) for _ in range(2)]


def test_queue_size_helper():
    assert ssd_queue_size(115846, 256) == 115712  # the official K
    assert ssd_queue_size(10847, 128) == 10752  # CIFAR-100-LT r100
    assert ssd_queue_size(256, 256) == 256
    with pytest.raises(ValueError, match='num_train=100'):
        ssd_queue_size(100, 256)


def test_key_modules_start_as_copies_and_get_no_gradient():
    model = build()
    for online, ema in model._ema_pairs():
        for (n, a), b in zip(online.state_dict().items(),
                             ema.state_dict().values()):
            assert torch.equal(a, b), n
    model.train()
    losses = model(views(), samples([0, 1, 2, 3]), mode='loss')
    assert {'loss_cls', 'loss_contrast'} <= set(losses)
    total, _ = model.parse_losses(losses)
    total.backward()
    for m in model._key_modules():
        assert all(p.grad is None and not p.requires_grad
                   for p in m.parameters())
    for m in (model.backbone, model.query_proj, model.head):
        assert all(p.grad is not None for p in m.parameters())


def test_one_step_matches_independent_computation():
    torch.manual_seed(0)
    model = build().train()
    # make online and key encoders differ so the EMA is visible
    with torch.no_grad():
        for p in model.key_proj.parameters():
            p.add_(0.5)
    old_key = copy.deepcopy(model.key_proj.state_dict())
    online = copy.deepcopy(model.query_proj.state_dict())
    queue_before = model.queue.keys.clone()
    qlabels_before = model.queue.labels.clone()
    x = views()
    labels = torch.tensor([0, 1, 1, 3])
    # reference keys: EMA first, then key encoder on the key view
    ref = copy.deepcopy(model)
    ref.momentum_update()
    with torch.no_grad():
        k = F.normalize(
            ref.key_proj(ref.key_neck(ref.key_backbone(x[1]))[-1]), dim=1)
    q = F.normalize(
        ref.query_proj(ref.neck(ref.backbone(x[0]))[-1]), dim=1)
    expected = MODELS.build(dict(type='LabelAwareMoCoLoss',
                                 temperature=0.2))(q, k, labels,
                                                   queue_before,
                                                   qlabels_before)
    losses = model(x, samples(labels), mode='loss')
    torch.testing.assert_close(losses['loss_contrast'], expected)
    # EMA of the key projection: 0.9 * old + 0.1 * online
    for name, v in model.key_proj.state_dict().items():
        torch.testing.assert_close(v, 0.9 * old_key[name] +
                                   0.1 * online[name])
    # the keys and their labels are queued at positions 0..3
    torch.testing.assert_close(model.queue.keys[:4], k)
    assert model.queue.labels[:4].tolist() == [0, 1, 1, 3]
    torch.testing.assert_close(model.queue.keys[4:], queue_before[4:])
    assert int(model.queue.ptr) == 4


def test_queue_wraps_around_and_is_in_state_dict():
    model = build().train()
    for step in range(4):  # 4 x 4 keys into a queue of 12
        model(views(seed=step), samples([step] * 4), mode='loss')
    # steps 0,1,2 fill 0..11; step 3 overwrites 0..3
    assert model.queue.labels.tolist() == [3] * 4 + [1] * 4 + [2] * 4
    assert int(model.queue.ptr) == 4
    state = model.state_dict()
    assert {'queue.keys', 'queue.labels', 'queue.ptr'} <= set(state)
    fresh = build()
    fresh.load_state_dict(state)
    assert torch.equal(fresh.queue.labels, model.queue.labels)


def test_queue_size_errors():
    with pytest.raises(ValueError, match=r'queue_size=50.*16'):
        build(queue_size=50, batch_size=16)
    build(queue_size=48, batch_size=16)  # fine
    model = build(queue_size=12).train()
    with pytest.raises(ValueError, match=r'queue_size=12.*8'):
        model(views(b=8), samples([0] * 8), mode='loss')


def test_needs_two_views_and_predicts_with_query_encoder():
    model = build().train()
    with pytest.raises(ValueError, match='two views'):
        model(views()[0], samples([0] * 4), mode='loss')
    model.eval()
    x = views()[0]
    with torch.no_grad():
        out = model(x, samples([0] * 4), mode='predict')
        logits = model.head(model.neck(model.backbone(x)))
        listed = model([x, x], mode='tensor')
    for ds, row in zip(out, logits):
        torch.testing.assert_close(ds.pred_score, row.softmax(0))
    torch.testing.assert_close(listed, logits)


def test_keys_and_labels_from_all_ranks_are_queued(monkeypatch):
    """Two ranks simulated: the gathered batch is this rank's keys and
    labels followed by another rank's; the queue takes both, in order."""
    from ltplug.models.classifiers import ssd_moco_classifier as mod
    other = {}

    def fake_gather(t):
        extra = torch.full_like(t, 7) if t.dtype == torch.long else \
            torch.nn.functional.normalize(torch.ones_like(t), dim=1)
        other[t.dtype] = extra
        return torch.cat([t, extra])

    monkeypatch.setattr(mod, 'concat_all_gather', fake_gather)
    model = build(queue_size=16).train()
    model(views(), samples([0, 1, 2, 3]), mode='loss')
    assert model.queue.labels[:8].tolist() == [0, 1, 2, 3, 7, 7, 7, 7]
    torch.testing.assert_close(model.queue.keys[4:8],
                               other[torch.float32])
    assert int(model.queue.ptr) == 8
    # 8 keys per step must divide the queue: 12 is refused
    model = build(queue_size=12).train()
    with pytest.raises(ValueError,
                       match=r'queue_size=12.*global batch size 8'):
        model(views(), samples([0, 1, 2, 3]), mode='loss')


def _count_foreach(monkeypatch):
    calls = []
    for name in ('_foreach_mul_', '_foreach_add_'):
        real = getattr(torch, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(torch, name, spy)
    return calls


def test_momentum_update_is_one_fused_pass(monkeypatch):
    model = build().train()
    with torch.no_grad():
        for p in model.key_backbone.parameters():
            p.add_(0.5)
    ref = copy.deepcopy(model)
    calls = _count_foreach(monkeypatch)
    model.momentum_update()
    assert calls == ['_foreach_mul_', '_foreach_add_']
    # bitwise the per-parameter update, on every key module
    for online, ema in ref._ema_pairs():
        for p_o, p_e in zip(online.parameters(), ema.parameters()):
            p_e.data.mul_(0.9).add_(p_o.data, alpha=0.1)
    for (_, a), (_, b) in zip(ref._ema_pairs(), model._ema_pairs()):
        for x, y in zip(a.parameters(), b.parameters()):
            assert torch.equal(x, y)


def test_loss_sees_the_queue_before_the_enqueue_without_label_copy(
        monkeypatch):
    """The key queue is copied (autograd keeps it for q's gradient and the
    enqueue writes it in place before backward); the label queue, which
    only builds a mask, is passed as it is."""
    model = build().train()
    queue_before = model.queue.keys.clone()
    labels_before = model.queue.labels.clone()
    seen = {}
    real = model.contrast_loss.forward

    def spy(q, k, labels, queue, queue_labels):
        seen.update(queue=queue, queue_labels=queue_labels,
                    keys_then=queue.clone(),
                    labels_then=queue_labels.clone())
        return real(q, k, labels, queue, queue_labels)

    monkeypatch.setattr(model.contrast_loss, 'forward', spy)
    losses = model(views(), samples([1, 1, 2, 3]), mode='loss')
    assert torch.equal(seen['keys_then'], queue_before)
    assert torch.equal(seen['labels_then'], labels_before)
    assert seen['queue_labels'] is model.queue.labels  # no copy
    assert seen['queue'].data_ptr() != model.queue.keys.data_ptr()
    # the enqueue changed the buffers after the loss; backward still works
    assert model.queue.labels[:4].tolist() == [1, 1, 2, 3]
    model.parse_losses(losses)[0].backward()
    assert model.query_proj[0].weight.grad is not None


def test_key_queue_copy_is_needed_for_autograd():
    """Why the key queue is still copied: q @ queue.T keeps the queue for
    q's gradient, so writing the buffer in place before backward fails."""
    queue = torch.randn(6, 3)
    q = torch.randn(2, 3, requires_grad=True)
    loss = (q @ queue.t()).sum()
    queue[:2] = 0.
    with pytest.raises(RuntimeError, match='modified by an inplace'):
        loss.backward()


def test_keys_are_computed_before_the_query_forward():
    """The no-grad key forward (after the EMA step) runs before the query
    encoder builds its graph: a lower peak, the same values (see
    test_one_step_matches_independent_computation)."""
    model = build().train()
    order = []
    model.backbone.register_forward_hook(
        lambda *a: order.append(('query', torch.is_grad_enabled())))
    model.key_backbone.register_forward_hook(
        lambda *a: order.append(('key', torch.is_grad_enabled())))
    model(views(), samples([0, 1, 2, 3]), mode='loss')
    assert order == [('key', False), ('query', True)]
