# Copyright (c) ltplug contributors. All rights reserved.
import pytest
import torch

from ltplug.models.utils.batch_augments.geometric import (apply_grouped,
                                                          fixed_point_matmul)


def _shift(k):
    return lambda x, p: x + 1000 * (k + 1) + p.view(-1, 1, 1, 1)


def test_apply_grouped_runs_each_samples_own_op_once():
    """Each sample gets exactly fns[op] with its own parameter; -1 leaves
    it alone; an op nobody drew costs nothing and the order of samples in
    the batch is kept."""
    torch.manual_seed(0)
    imgs = torch.rand(23, 3, 4, 4)
    ops = torch.tensor([2, -1, 0, 0, 2, 1, -1, 2] * 2 + [0, 2, 1, 1, 0, 2,
                                                          -1])
    param = torch.arange(23.)
    calls = []

    def fn(k):
        def run(x, p):
            calls.append((k, len(x)))
            return _shift(k)(x, p)
        return run

    fns = [fn(0), fn(1), fn(2), fn(3)]
    out = apply_grouped(imgs.clone(), ops, fns, param)
    for n in range(23):
        k = int(ops[n])
        want = imgs[n] if k < 0 else _shift(k)(imgs[n:n + 1],
                                               param[n:n + 1])[0]
        assert torch.equal(out[n], want), n
    assert sorted(calls) == [(k, int((ops == k).sum())) for k in range(3)]
    calls.clear()
    none = apply_grouped(imgs.clone(), torch.full((23, ), -1), fns, param)
    assert torch.equal(none, imgs) and calls == []
    with pytest.raises(ValueError, match='below the number of ops .4., but '
                       'got 4'):
        apply_grouped(imgs.clone(), torch.tensor([0, 4] + [-1] * 21), fns,
                      param)


def _bilinear_weights(n, k, m, seed=0):
    """Per column two taps whose weights sum to 2 ** 22 (or 2 ** 22 + 1)."""
    g = torch.Generator().manual_seed(seed)
    w = torch.zeros(n, k, m)
    i0 = torch.randint(0, k, (n, m), generator=g)
    i1 = (i0 + torch.randint(0, 2, (n, m), generator=g)).clamp(max=k - 1)
    w1 = torch.randint(0, (1 << 22) + 1, (n, m), generator=g).float()
    w0 = float(1 << 22) - w1 + torch.randint(0, 2, (n, m), generator=g)
    w.scatter_add_(1, i0[:, None], w0[:, None])
    w.scatter_add_(1, i1[:, None], w1[:, None])
    return w


@pytest.mark.parametrize('split', [True, False])
def test_fixed_point_matmul_is_the_exact_integer_rounding(split):
    """Both paths (split float32 halves, float64) equal the int64 result
    floor((x @ m + 2^21) / 2^22) clipped to 0..255, on all-255 inputs
    (the largest sums) and random ones."""
    m = _bilinear_weights(8, 32, 40)
    for x in (torch.full((8, 5, 32), 255.),
              torch.randint(0, 256, (8, 5, 32)).float()):
        want = ((x.long() @ m.long()) + (1 << 21)) >> 22
        got = fixed_point_matmul(x, m, 11, split=split)
        assert torch.equal(got, want.clamp(0, 255).float())
