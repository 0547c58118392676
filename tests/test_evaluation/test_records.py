# Copyright (c) ltplug contributors. All rights reserved.
"""ShotAccuracy's per-sample records (``ltplug.evaluation.records``): one
batched top-k on the scores' device gives, per sample, the label, the
top-1 class, its hit, the top-1 confidence and a hit per k; the records
of uneven batches equal a reference computed from the whole score
matrix, ties included."""
import numpy as np
import pytest
import torch

from ltplug.evaluation.records import (CONFIDENCE, CORRECT, FIRST_HIT, LABEL,
                                       PRED, record_width, shot_records)


def reference_records(scores, labels, topk):
    """Records from the whole ``(N, C)`` matrix: the top-k indices of one
    ``torch.topk`` (the ranking the metric used before, padded with -1
    when C < max(topk)), then hits by plain loops."""
    maxk = max(topk)
    values, top = scores.topk(min(maxk, scores.size(1)), dim=1)
    top = top.tolist()
    out = []
    for i, y in enumerate(labels.tolist()):
        ranked = top[i] + [-1] * (maxk - len(top[i]))
        out.append([y, ranked[0], float(ranked[0] == y),
                    float(values[i, 0].float())] +
                   [float(y in ranked[:k]) for k in topk])
    return np.asarray(out, dtype=np.float64)


def tied_scores(n, num_classes, gen):
    """Scores on a coarse grid: many ties, also at the top-1 and top-k
    borders."""
    scores = torch.randint(0, 4, (n, num_classes), generator=gen) / 4.
    labels = torch.randint(0, num_classes, (n, ), generator=gen)
    return scores, labels


@pytest.mark.parametrize('topk', [(1, ), (1, 5), (3, 1), (2, 12)])
def test_batches_equal_the_whole_matrix_with_ties(topk):
    gen = torch.Generator().manual_seed(3)
    num_classes, n = 9, 300
    scores, labels = tied_scores(n, num_classes, gen)
    rows = [
        shot_records(labels[i:i + size], topk, scores=scores[i:i + size])
        for i, size in zip((0, 37, 101, 229), (37, 64, 128, 71))
    ]
    rows = np.concatenate(rows)
    assert rows.shape == (n, record_width(topk)) == (n, 4 + len(topk))
    assert rows.dtype == np.float64
    expected = reference_records(scores, labels, topk)
    np.testing.assert_array_equal(rows, expected)
    # the ties matter: some rows have their label tied with the top-1
    tie = scores[torch.arange(n), labels] == scores.max(dim=1).values
    assert (tie.numpy() & (rows[:, CORRECT] == 0)).any()


def test_columns_are_what_the_metric_needs():
    scores = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    labels = torch.tensor([2, 0])
    rows = shot_records(labels, (1, 2), scores=scores)
    assert rows[:, LABEL].tolist() == [2, 0]
    assert rows[:, PRED].tolist() == [1, 0]
    assert rows[:, CORRECT].tolist() == [0, 1]
    # the top-1 confidence, as float32
    assert rows[:, CONFIDENCE].tolist() == [np.float32(0.7), np.float32(0.5)]
    assert rows[:, FIRST_HIT].tolist() == [0, 1]  # top-1
    assert rows[:, FIRST_HIT + 1].tolist() == [1, 1]  # top-2


@pytest.mark.parametrize('dtype', [torch.float64, torch.float16,
                                   torch.bfloat16])
def test_confidence_is_the_float32_top_score(dtype):
    gen = torch.Generator().manual_seed(0)
    scores = torch.rand(20, 6, generator=gen).to(dtype)
    labels = torch.randint(0, 6, (20, ), generator=gen)
    rows = shot_records(labels, (1, ), scores=scores)
    expected = scores.max(dim=1).values.float().numpy().astype(np.float64)
    np.testing.assert_array_equal(rows[:, CONFIDENCE], expected)


def test_predicted_labels_only():
    rows = shot_records(torch.tensor([1, 1, 0]), (1, ),
                        preds=torch.tensor([0, 1, 0]))
    assert rows[:, PRED].tolist() == [0, 1, 0]
    assert rows[:, CORRECT].tolist() == [0, 1, 1]
    assert rows[:, FIRST_HIT].tolist() == [0, 1, 1]
    assert np.isnan(rows[:, CONFIDENCE]).all()
    with pytest.raises(ValueError, match=r'topk=\(1, 5\) needs class scores'):
        shot_records(torch.tensor([1]), (1, 5), preds=torch.tensor([1]))


def test_bad_inputs_quote_the_value():
    with pytest.raises(ValueError, match=r'scores must be \(B, C\).*\(4,\)'):
        shot_records(torch.tensor([0]), (1, ), scores=torch.zeros(4))
    with pytest.raises(ValueError, match=r'labels must be \(2, \).*\(3,\)'):
        shot_records(torch.zeros(3, dtype=torch.long), (1, ),
                     scores=torch.zeros(2, 4))
    with pytest.raises(ValueError, match='neither'):
        shot_records(torch.tensor([0]), (1, ))


def test_runs_on_the_scores_device_and_copies_once(monkeypatch):
    """Scores on another device than the CPU labels ('meta' stands in for
    an accelerator, no CUDA needed): the labels join the scores, the work
    runs there and one small (B, 4 + len(topk)) block is copied out."""
    copies = []

    def fake_cpu(self):
        copies.append((self.device.type, tuple(self.shape), self.dtype))
        return torch.zeros(self.shape, dtype=self.dtype)

    monkeypatch.setattr(torch.Tensor, 'cpu', fake_cpu)
    scores = torch.zeros(8, 1000, device='meta')
    labels = torch.zeros(8, dtype=torch.int64)  # on the CPU
    rows = shot_records(labels, (1, 5), scores=scores)
    assert copies == [('meta', (8, 6), torch.int64)]
    assert rows.shape == (8, 6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_equals_cpu():
    gen = torch.Generator().manual_seed(5)
    scores = torch.rand(257, 50, generator=gen)
    labels = torch.randint(0, 50, (257, ), generator=gen)
    cpu = shot_records(labels, (1, 5), scores=scores)
    cuda = shot_records(labels, (1, 5), scores=scores.cuda())
    np.testing.assert_array_equal(cpu, cuda)
