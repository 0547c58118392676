# Copyright (c) ltplug contributors. All rights reserved.
"""The metrics' per-sample results go through MMEngine's distributed
collection (``collect_device`` 'cpu' and 'gpu'; 2 gloo processes on the
CPU): the values on rank 0 equal a single-process evaluation."""
import json
import os.path as osp
import subprocess
import sys
import textwrap

import pytest

WORKER = textwrap.dedent('''
    import json, os, socket, sys
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp

    def scores_and_labels():
        gen = torch.Generator().manual_seed(0)
        # coarse scores: ties at the top-k borders
        scores = torch.randint(0, 4, (50, 12), generator=gen) / 4.
        logits = torch.randn(50, 3, 12, generator=gen)
        labels = torch.randint(0, 12, (50, ), generator=gen)
        return scores, logits, labels

    def evaluate(rank, world, collect_device):
        import ltplug  # noqa: F401
        from mmpretrain.registry import METRICS
        scores, logits, labels = scores_and_labels()
        counts = [300, 200, 150, 101, 100, 50, 30, 20, 19, 10, 5, 2]
        shot = METRICS.build(dict(type='ShotAccuracy', topk=(1, 3),
                                  class_counts=counts, save_per_class=False,
                                  print_table=False,
                                  collect_device=collect_device))
        # the optional outputs: scores k / 4 sit on the edges of 4 bins
        cal = METRICS.build(dict(type='ShotAccuracy', prefix='cal',
                                 class_counts=counts, ece_bins=4,
                                 test_priors=(50, 1, 0.02),
                                 save_per_class=False, print_table=False,
                                 collect_device=collect_device))
        expert = METRICS.build(dict(type='ExpertAccuracy',
                                    collect_device=collect_device))
        # a distributed sampler's split: rank r takes samples r, r + w, ...
        # (padded to equal length: evaluate(50) drops the padding)
        index = list(range(rank, 50, world))
        if world > 1 and len(index) < 25:
            index.append(index[-1])
        for i in range(0, len(index), 8):
            part = index[i:i + 8]
            shot.process(None, [dict(gt_label=labels[j:j + 1],
                                     pred_score=scores[j]) for j in part])
            cal.process(None, [dict(gt_label=labels[j:j + 1],
                                    pred_score=scores[j]) for j in part])
            expert.process(None, [dict(gt_label=labels[j:j + 1],
                                       expert_logits=logits[j])
                                  for j in part])
        out = dict(shot.evaluate(50))
        out.update(cal.evaluate(50))
        out.update(expert.evaluate(50))
        return out

    def worker(rank, world, port, collect_device, path):
        dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                                rank=rank, world_size=world)
        out = evaluate(rank, world, collect_device)
        if rank == 0:
            with open(path, 'w') as f:
                json.dump(out, f)
        # barrier + destroy, as the tools end: a rank that tears gloo down
        # while its peer still talks aborts (SIGABRT, 'terminate called
        # without an active exception')
        from ltplug.utils.cli import finish_distributed
        finish_distributed()

    if __name__ == '__main__':
        collect_device, path = sys.argv[1], sys.argv[2]
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        mp.spawn(worker, args=(2, port, collect_device, path), nprocs=2)
        with open(path + '.single', 'w') as f:
            json.dump(evaluate(0, 1, collect_device), f)
''')


@pytest.mark.parametrize('collect_device', ['cpu', 'gpu'])
def test_two_processes_equal_one(tmp_path, collect_device):
    script = tmp_path / 'worker.py'
    script.write_text(WORKER)
    path = str(tmp_path / 'out.json')
    proc = subprocess.run(
        [sys.executable, str(script), collect_device, path],
        capture_output=True, text=True, timeout=300,
        cwd=osp.dirname(osp.dirname(osp.dirname(osp.dirname(
            osp.abspath(__file__))))))
    assert proc.returncode == 0, proc.stderr[-3000:]
    dist_out = json.load(open(path))
    single = json.load(open(path + '.single'))
    assert dist_out == single
    assert set(dist_out) == {
        'shot/top1', 'shot/top3', 'shot/many', 'shot/medium', 'shot/few',
        'expert/top1_e0', 'expert/top1_e1', 'expert/top1_e2',
        'expert/best_single_top1', 'expert/best_single_idx',
        'expert/ensemble_top1', 'cal/top1', 'cal/many', 'cal/medium',
        'cal/few', 'cal/ece', 'cal/many_ece', 'cal/medium_ece',
        'cal/few_ece', 'cal/top1_rho50', 'cal/top1_rho1', 'cal/top1_rho0.02'
    }
    assert 0 < dist_out['shot/top1'] < dist_out['shot/top3'] < 100
    assert dist_out['cal/top1'] == dist_out['shot/top1']
    assert 0 < dist_out['cal/ece'] < 100
    for group in ('many', 'medium', 'few'):
        assert 0 <= dist_out[f'cal/{group}_ece'] < 100
