# Copyright (c) ltplug contributors. All rights reserved.
"""A CPU proxy for "no score matrix reaches the host, no per-sample host
sync": while ``process`` runs, every host read of tensor data (``.cpu()``,
``.item()``, ``.tolist()``, ``int()`` / ``float()`` / ``bool()`` of a
tensor, ``.to('cpu')``; on an accelerator each waits for the device and
copies) is counted with the size it reads. Per batch there must be one,
of the small ``(B, k)``-sized results, whatever ``B`` and ``C``; and what
``metric.results`` holds (what distributed collection pickles) must not
grow with the number of classes."""
import pickle

import numpy as np
import pytest
import torch
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample

HOST_READS = ('cpu', 'item', 'tolist', '__int__', '__float__', '__index__',
              '__bool__')


@pytest.fixture
def host_reads(monkeypatch):
    """A list that gets ``(method, numel)`` for every host read."""
    reads = []

    def wrap(name, orig):

        def counted(self, *args, **kwargs):
            to_cpu = name == 'to' and any(
                isinstance(a, (str, torch.device))
                and torch.device(a).type == 'cpu'
                for a in (*args, kwargs.get('device')) if a is not None)
            if name != 'to' or to_cpu:
                reads.append((name, self.numel()))
            return orig(self, *args, **kwargs)

        return counted

    for name in HOST_READS + ('to', ):
        monkeypatch.setattr(torch.Tensor, name,
                            wrap(name, getattr(torch.Tensor, name)))
    return reads


def shot_batch(batch, num_classes, gen):
    scores = torch.rand(batch, num_classes, generator=gen)
    labels = torch.randint(0, num_classes, (batch, ), generator=gen)
    # what a head hands the metric: rows of its (B, C) output
    return [
        DataSample().set_gt_label(int(y)).set_pred_score(s).to_dict()
        for y, s in zip(labels, scores)
    ]


def expert_batch(batch, num_classes, gen, num_experts=3):
    logits = torch.randn(batch, num_experts, num_classes, generator=gen)
    labels = torch.randint(0, num_classes, (batch, ), generator=gen)
    out = []
    for y, lg in zip(labels, logits):  # (E, C) slices, as NCL sets them
        ds = DataSample().set_gt_label(int(y))
        ds.set_field(lg, 'expert_logits')
        out.append(ds.to_dict())
    return out


CASES = {
    # metric config, batch maker, stored values per sample
    'shot': (dict(type='ShotAccuracy', topk=(1, 5), class_counts=[50] * 2000,
                  save_per_class=False, print_table=False), shot_batch,
             4 + 2),  # label, pred, correct, confidence, hit@1, hit@5
    'expert': (dict(type='ExpertAccuracy'), expert_batch, 1 + 3 + 1),
}


@pytest.mark.parametrize('case', sorted(CASES))
@pytest.mark.parametrize('batch', [4, 32])
def test_one_small_host_read_per_batch(host_reads, case, batch):
    cfg, make, width = CASES[case]
    num_classes = 2000
    metric = METRICS.build(cfg)
    gen = torch.Generator().manual_seed(0)
    batches = [make(batch, num_classes, gen) for _ in range(3)]
    for samples in batches:
        del host_reads[:]
        metric.process(None, samples)
        # one read per batch, not one per sample
        assert len(host_reads) == 1, host_reads[:10]
        # of the (B, width) results, not of a (B, C) score matrix
        assert host_reads[0][1] <= batch * width, host_reads
    assert len(metric.results) == 3 * batch


@pytest.mark.parametrize('case', sorted(CASES))
def test_results_do_not_grow_with_classes(case):
    """What ``metric.results`` holds is O(B * k), not O(B * C): small CPU
    arrays, one per sample, the same pickled size for 10 or 4,000
    classes."""
    cfg, make, width = CASES[case]
    sizes = []
    for num_classes in (10, 4000):
        gen = torch.Generator().manual_seed(0)
        metric = METRICS.build(dict(cfg, class_counts=[50] * num_classes)
                               if 'class_counts' in cfg else cfg)
        metric.process(None, make(16, num_classes, gen))
        assert len(metric.results) == 16
        for item in metric.results:
            assert isinstance(item, np.ndarray) and item.size == width
        sizes.append(len(pickle.dumps(metric.results)))
    assert sizes[0] == sizes[1]
    assert sizes[1] < 16 * (width * 8 + 200)
