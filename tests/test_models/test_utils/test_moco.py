# Copyright (c) ltplug contributors. All rights reserved.
"""MoCo helpers: fused EMA, device-aware all-gather, sync-free queue."""
import copy
import os

import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F

from ltplug.models.utils import KeyQueue, concat_all_gather, ema_update
from ltplug.models.utils import moco as moco_pkg
from ltplug.models.utils.moco import queue as moco_mod
from tests.helpers import free_port


def _reference_enqueue(keys, labels, ptr, new_keys, new_labels=None):
    """The queue update as the original implementation wrote it."""
    n = new_keys.size(0)
    idx = (torch.arange(n) + ptr) % keys.size(0)
    keys[idx] = new_keys
    if new_labels is not None:
        labels[idx] = new_labels
    return (ptr + n) % keys.size(0)


# ---------------------------------------------------------------- KeyQueue
def test_enqueue_wraps_around_like_the_host_pointer_version():
    torch.manual_seed(0)
    queue = KeyQueue(10, 4, with_labels=True, init_label=3)
    keys, labels = queue.keys.clone(), queue.labels.clone()
    ptr = 0
    for n in (4, 4, 4, 10, 3, 7):  # crosses the end several times
        new = F.normalize(torch.randn(n, 4), dim=1)
        new_labels = torch.randint(0, 5, (n, ))
        queue.enqueue(new, new_labels)
        ptr = _reference_enqueue(keys, labels, ptr, new, new_labels)
        assert torch.equal(queue.keys, keys)
        assert torch.equal(queue.labels, labels)
        assert queue.ptr.tolist() == [ptr]
    assert queue.ptr.dtype == torch.long and queue.ptr.shape == (1, )


def test_enqueue_does_not_read_the_pointer_on_the_host(monkeypatch):
    queue = KeyQueue(8, 4, with_labels=True)
    queue.enqueue(torch.randn(3, 4), torch.arange(3))

    def host_sync(*args, **kwargs):
        raise AssertionError('enqueue read a tensor on the host')

    for name in ('item', 'tolist', '__int__', '__index__', '__bool__',
                 '__float__'):
        monkeypatch.setattr(torch.Tensor, name, host_sync)
    new = torch.randn(6, 4)
    queue.enqueue(new, torch.full((6, ), 2))
    monkeypatch.undo()
    # 3 + 6 wraps around: rows 3..7 then row 0
    assert torch.equal(queue.keys[3:], new[:5])
    assert torch.equal(queue.keys[0], new[5])
    assert queue.labels.tolist() == [2, 1, 2, 2, 2, 2, 2, 2]
    assert queue.ptr.tolist() == [1]


def test_enqueue_pointer_survives_a_checkpoint():
    a = KeyQueue(6, 2)
    a.enqueue(torch.randn(4, 2))
    b = KeyQueue(6, 2)
    b.load_state_dict(a.state_dict())
    new = torch.randn(4, 2)
    a.enqueue(new)
    b.enqueue(new)
    assert torch.equal(a.keys, b.keys) and torch.equal(a.ptr, b.ptr)
    assert b.ptr.tolist() == [2]


@pytest.mark.parametrize('kwargs, match', [
    (dict(keys=torch.randn(3, 5)), r'keys must have shape \(N, 4\), but '
     r'got \(3, 5\)'),
    (dict(keys=torch.randn(9, 4)), 'cannot enqueue 9 keys into a queue of '
     '8'),
])
def test_enqueue_errors_quote_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        KeyQueue(8, 4).enqueue(**kwargs)


# ---------------------------------------------------------------- EMA
def _pair(seed):
    torch.manual_seed(seed)
    return (nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4),
                          nn.Linear(2, 3)),
            nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4),
                          nn.Linear(2, 3)))


def test_ema_update_is_fused_and_bitwise_the_per_parameter_update(
        monkeypatch):
    online, ema = _pair(0)
    expected = [
        e.detach().clone().mul_(0.99).add_(o.detach(), alpha=1 - 0.99)
        for o, e in zip(online.parameters(), ema.parameters())
    ]
    buffers = [b.clone() for b in ema.buffers()]
    calls = []
    for name in ('_foreach_mul_', '_foreach_add_'):
        real = getattr(torch, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(torch, name, spy)
    ema_update(online, ema, 0.99)
    # one pass over all parameters, not one kernel pair per parameter
    assert calls == ['_foreach_mul_', '_foreach_add_']
    for got, want in zip(ema.parameters(), expected):
        assert torch.equal(got, want)
    for got, want in zip(ema.buffers(), buffers):
        assert torch.equal(got, want)  # BN statistics are not averaged


def test_ema_update_takes_module_lists_and_checks_them():
    (o1, e1), (o2, e2) = _pair(0), _pair(1)
    ref1, ref2 = _pair(0)[1], _pair(1)[1]
    ema_update(o1, ref1, 0.9)
    ema_update(o2, ref2, 0.9)
    ema_update([o1, o2], [e1, e2], 0.9)
    for got, want in zip(list(e1.parameters()) + list(e2.parameters()),
                         list(ref1.parameters()) + list(ref2.parameters())):
        assert torch.equal(got, want)
    with pytest.raises(ValueError, match='but got 1.5'):
        ema_update(o1, e1, 1.5)
    short = nn.Sequential(nn.Linear(2, 3), nn.Linear(2, 3))
    with pytest.raises(ValueError, match='but got 4 and 6'):
        ema_update(o1, short, 0.9)


def test_repeated_ema_equals_one_update_with_momentum_power():
    """E updates with m on unchanged online weights == one with m ** E."""
    online, ema = _pair(0)
    repeated = _pair(0)[1]
    for _ in range(3):
        ema_update(online, repeated, 0.999)
    ema_update(online, ema, 0.999**3)
    for got, want in zip(ema.parameters(), repeated.parameters()):
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------- gather
class _Gathered(Exception):
    pass


def test_concat_all_gather_runs_the_collective_on_the_comm_device(
        monkeypatch):
    """Under NCCL the collective needs CUDA tensors, whatever the input's
    device: a fake two-rank group whose backend device is ``meta`` checks
    that every tensor reaching ``all_gather`` is on it."""
    comm = torch.device('meta')
    seen = {}

    def fake_all_gather(out, tensor, group=None):
        seen['devices'] = {tensor.device} | {t.device for t in out}
        seen['shape'] = tuple(tensor.shape)
        assert tensor.device == comm, tensor.device
        assert all(t.device == comm for t in out)
        raise _Gathered

    monkeypatch.setattr(torch_dist, 'is_initialized', lambda: True)
    monkeypatch.setattr(torch_dist, 'get_world_size', lambda *a: 2)
    monkeypatch.setattr(torch_dist, 'all_gather', fake_all_gather)
    # raising=False: the lookups need not exist for the check to run
    monkeypatch.setattr(moco_mod, 'get_default_group', lambda: None,
                        raising=False)
    monkeypatch.setattr(moco_mod, 'get_comm_device', lambda group: comm,
                        raising=False)
    with pytest.raises(_Gathered):
        concat_all_gather(torch.randn(3, 4))
    assert seen == dict(devices={comm}, shape=(3, 4))


def _gather_worker(rank, world, port, folder):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch_dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        keys = torch.full((2, 3), float(rank))
        labels = torch.tensor([10 * rank, 10 * rank + 1])
        torch.save((concat_all_gather(keys), concat_all_gather(labels)),
                   os.path.join(folder, f'rank{rank}.pth'))
        # no rank tears gloo down while its peer still talks (SIGABRT)
        torch_dist.barrier()
    finally:
        torch_dist.destroy_process_group()


def test_concat_all_gather_two_gloo_ranks(tmp_path):
    world = 2
    # fork: the children need not import the package again
    mp.start_processes(_gather_worker, args=(world, free_port(),
                                             str(tmp_path)),
                       nprocs=world, start_method='fork')
    for rank in range(world):
        keys, labels = torch.load(tmp_path / f'rank{rank}.pth')
        assert keys.device.type == 'cpu'
        want = torch.tensor([[0.] * 3] * 2 + [[1.] * 3] * 2)
        assert torch.equal(keys, want)
        assert labels.tolist() == [0, 1, 10, 11]


def test_concat_all_gather_is_identity_without_a_group():
    x = torch.randn(3, 2)
    assert concat_all_gather(x) is x


# ------------------------------------------- the shared MoCo pieces (one MoCo)
def test_info_nce_is_cross_entropy_with_the_key_as_class_zero():
    torch.manual_seed(0)
    q = F.normalize(torch.randn(5, 8), dim=1)
    k = F.normalize(torch.randn(5, 8), dim=1)
    queue = F.normalize(torch.randn(11, 8), dim=1)
    t = 0.2
    # written out: -log(e^{q.k/T} / (e^{q.k/T} + sum_j e^{q.Q_j/T}))
    pos = torch.exp((q * k).sum(1) / t)
    neg = torch.exp(q @ queue.t() / t).sum(1)
    expected = -torch.log(pos / (pos + neg)).mean()
    got = moco_pkg.info_nce(q, k, queue, t)
    assert torch.allclose(got, expected, atol=1e-6)
    with pytest.raises(ValueError, match=r'queue must be \(K, 8\)'):
        moco_pkg.info_nce(q, k, queue[:, :4], t)


def test_label_aware_info_nce_drops_same_class_queue_entries():
    torch.manual_seed(1)
    q = F.normalize(torch.randn(4, 6), dim=1)
    k = F.normalize(torch.randn(4, 6), dim=1)
    queue = F.normalize(torch.randn(9, 6), dim=1)
    labels = torch.tensor([0, 1, 2, 0])
    queue_labels = torch.tensor([0, 0, 1, 2, 2, 3, 3, 1, 0])
    t = 0.5
    total = 0.
    for b in range(4):
        pos = torch.exp(q[b] @ k[b] / t)
        keep = queue_labels != labels[b]
        neg = torch.exp(q[b] @ queue[keep].t() / t).sum()
        total = total - torch.log(pos / (pos + neg))
    got = moco_pkg.label_aware_info_nce(q, k, labels, queue, queue_labels, t)
    assert torch.allclose(got, total / 4, atol=1e-6)
    # with no label in common it is plain InfoNCE
    other = torch.full((9, ), 7)
    assert torch.allclose(
        moco_pkg.label_aware_info_nce(q, k, labels, queue, other, t),
        moco_pkg.info_nce(q, k, queue, t), atol=1e-6)


def test_shuffled_keys_normalise_and_keep_the_batch_order():
    torch.manual_seed(2)
    enc = nn.Linear(3, 4)
    view = torch.randn(6, 3)
    for shuffle in (False, True):
        got = moco_pkg.shuffled_keys(lambda v: [enc(v), 2 * enc(v)], view,
                                     shuffle)
        assert len(got) == 2
        expected = F.normalize(enc(view), dim=1)
        assert torch.allclose(got[0], expected, atol=1e-6)
        assert torch.allclose(got[1], expected, atol=1e-6)
        assert not got[0].requires_grad


def test_ema_update_pairs_equals_ema_update_and_copy_starts_equal():
    torch.manual_seed(3)
    online = [nn.Linear(4, 4), nn.Linear(4, 2)]
    ema = [nn.Linear(4, 4), nn.Linear(4, 2)]
    ref = [copy.deepcopy(m) for m in ema]
    moco_pkg.ema_update_pairs(zip(online, ema), 0.9)
    ema_update(online, ref, 0.9)
    for a, b in zip(ema, ref):
        for pa, pb in zip(a.parameters(), b.parameters()):
            assert torch.equal(pa, pb)
    moco_pkg.copy_online_to_ema(zip(online, ema))
    for a, b in zip(online, ema):
        for pa, pb in zip(a.parameters(), b.parameters()):
            assert torch.equal(pa, pb)


def test_projection_mlp_and_first_view():
    mlp = moco_pkg.projection_mlp(8, 16, 4)
    assert [type(m) for m in mlp] == [nn.Linear, nn.ReLU, nn.Linear]
    assert mlp(torch.randn(2, 8)).shape == (2, 4)
    assert mlp[0].out_features == 16
    a, b = torch.randn(2, 3), torch.randn(2, 3)
    assert moco_pkg.first_view([a, b]) is a
    assert moco_pkg.first_view(a) is a


def test_queue_snapshot_is_a_copy_that_enqueue_does_not_touch():
    queue = KeyQueue(4, 2)
    snap = queue.snapshot()
    assert torch.equal(snap, queue.keys)
    queue.enqueue(torch.ones(2, 2))
    assert not torch.equal(snap, queue.keys)
    assert not snap.requires_grad


def test_check_moco_cfg_fills_defaults_and_quotes_bad_values():
    cfg = moco_pkg.check_moco_cfg(dict(queue_size=16, dim=8),
                                  dict(in_channels=32), owner='X')
    assert cfg == dict(temperature=0.2, momentum=0.999, loss_weight=1.0,
                       shuffle_bn=True, dim=8, queue_size=16, feat_dim=32)
    with pytest.raises(ValueError, match='unknown moco keys'):
        moco_pkg.check_moco_cfg(dict(queue_size=16, dim=8, T=1), {}, 'X')
    with pytest.raises(ValueError, match="needs 'dim'"):
        moco_pkg.check_moco_cfg(dict(queue_size=16), {}, 'X')
    with pytest.raises(ValueError, match='feat_dim'):
        moco_pkg.check_moco_cfg(dict(queue_size=16, dim=8), {}, 'X')
    with pytest.raises(ValueError, match='-0.5'):
        moco_pkg.check_moco_cfg(
            dict(queue_size=16, dim=8, temperature=-0.5),
            dict(in_channels=4), 'X')
