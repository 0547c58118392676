# Copyright (c) ltplug contributors. All rights reserved.
import json
import os
import os.path as osp

import mmengine
import pytest
import torch

from tests.helpers import load_script, run_tool

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def load_tool():
    return load_script('tools/analysis/plot_per_class.py')


def write_payload(path, counts, accs):
    rows = []
    for c, (n, a) in enumerate(zip(counts, accs)):
        group = 'many' if n > 100 else 'few' if n < 20 else 'medium'
        rows.append(dict(label=c, name=f'class{c}', train_count=n,
                         group=group, num_test=10, top1=a))
    with open(path, 'w') as f:
        json.dump(dict(summary=dict(top1=50.0), per_class=rows), f)
    return str(path)


COUNTS = [5, 500, 300, 120, 60, 30, 15, 8]
# unsorted on purpose: the tool sorts by count


def test_cli_two_json_inputs(tmp_path):
    a = write_payload(tmp_path / 'ce.json', COUNTS,
                      [0, 95, 90, 80, 50, 30, 10, None])
    b = write_payload(tmp_path / 'bs.json', COUNTS,
                      [40, 85, 80, 75, 60, 55, 45, 40])
    out = tmp_path / 'figs' / 'per_class.png'
    proc = run_tool([
        'tools/analysis/plot_per_class.py', a, b, '--labels', 'CE', 'BS',
        '--output', str(out), '--title', 'test'
    ], timeout=120)
    assert 'saved' in proc.stdout
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000


def test_predictions_pickle_needs_counts(tmp_path):
    tool = load_tool()
    preds = []
    # class 0 always right, class 1 always wrong, 2 test images each
    for label, pred in [(0, 0), (0, 0), (1, 0), (1, 0)]:
        score = torch.zeros(2)
        score[pred] = 1.
        preds.append(dict(gt_label=torch.tensor([label]), pred_score=score,
                          pred_label=torch.tensor([pred])))
    pkl = str(tmp_path / 'preds.pkl')
    mmengine.dump(preds, pkl)
    payload = tool.per_class_from_predictions(pkl, [200, 10])
    assert [r['top1'] for r in payload['per_class']] == [100.0, 0.0]
    assert [r['group'] for r in payload['per_class']] == ['many', 'few']
    out = tool.main([pkl, '--class-counts', '200,10', '-o',
                     str(tmp_path / 'p.png')])
    assert open(out, 'rb').read(8) == PNG_MAGIC
    with pytest.raises(ValueError, match='--class-counts'):
        tool.main([pkl, '-o', str(tmp_path / 'q.png')])


def test_mismatched_inputs_raise(tmp_path):
    tool = load_tool()
    a = write_payload(tmp_path / 'a.json', [10, 5], [1, 2])
    b = write_payload(tmp_path / 'b.json', [10, 6], [1, 2])
    with pytest.raises(ValueError, match='different classes'):
        tool.main([a, b, '-o', str(tmp_path / 'x.png')])
    assert not osp.exists(tmp_path / 'x.png')


def test_labels_count_checked(tmp_path):
    tool = load_tool()
    a = write_payload(tmp_path / 'a.json', [10, 5], [1, 2])
    with pytest.raises(SystemExit):
        tool.main([a, '--labels', 'x', 'y'])


def test_work_dir_picks_latest_json(tmp_path, monkeypatch):
    tool = load_tool()
    work = tmp_path / 'ce_run'
    for stamp in ('20260101_000000', '20260102_000000', '20260103_000000'):
        (work / stamp).mkdir(parents=True)
    old = write_payload(work / '20260101_000000' / 'per_class_accuracy.json',
                        COUNTS, [1] * 8)
    new = write_payload(work / '20260102_000000' / 'per_class_accuracy.json',
                        COUNTS, [2] * 8)
    # the newest timestamp folder has no JSON (e.g. a run killed early);
    # the older file is rewritten last (a later tools/test.py in the same
    # run): modification time decides, not the folder name
    os.utime(old, (1000, 1000))
    os.utime(new, (2000, 2000))
    assert tool.find_per_class_json(str(work)) == new
    os.utime(old, (3000, 3000))
    assert tool.find_per_class_json(str(work)) == old

    seen = {}

    def fake_plot(payloads, labels, output, title=None):
        seen.update(tops=[p['per_class'][0]['top1'] for p in payloads],
                    labels=list(labels))
        return output

    monkeypatch.setattr(tool, 'plot', fake_plot)
    other = tmp_path / 'bs_run'
    other.mkdir()
    write_payload(other / 'per_class_accuracy.json', COUNTS, [3] * 8)
    tool.main(['--work-dir', str(work), str(other), '-o',
               str(tmp_path / 'x.png')])
    # default labels are the work dirs' names
    assert seen == dict(tops=[1, 3], labels=['ce_run', 'bs_run'])
    a = write_payload(tmp_path / 'a.json', COUNTS, [4] * 8)
    tool.main([a, '--work-dir', str(other), '--labels', 'A', 'B'])
    assert seen == dict(tops=[4, 3], labels=['A', 'B'])


def test_work_dir_errors(tmp_path):
    tool = load_tool()
    with pytest.raises(FileNotFoundError, match='no per_class_accuracy.json'
                       ' in .*empty'):
        (tmp_path / 'empty' / '20260101_000000').mkdir(parents=True)
        tool.find_per_class_json(str(tmp_path / 'empty'))
    with pytest.raises(FileNotFoundError, match='nowhere.*is not a folder'):
        tool.main(['--work-dir', str(tmp_path / 'nowhere')])
    with pytest.raises(SystemExit):
        tool.main([])  # neither inputs nor --work-dir
