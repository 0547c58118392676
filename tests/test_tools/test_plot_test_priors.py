# Copyright (c) ltplug contributors. All rights reserved.
"""tools/analysis/plot_test_priors.py: top-1 under forward / uniform /
backward test priors from the per-class JSON of work dirs, against values
worked out by hand and against ShotAccuracy's own ``top1_rho{rho}``."""
import json

import pytest
import torch
from mmpretrain.registry import METRICS

from tests.helpers import load_script, run_tool

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
# ranks by training count: class 1 (200) 0, class 0 (50) 1, class 2 (10) 2
COUNTS = [50, 200, 10]


def load_tool():
    return load_script('tools/analysis/plot_test_priors.py')


def write_work_dir(root, accs, stamp='20260101_000000'):
    folder = root / stamp
    folder.mkdir(parents=True)
    rows = [dict(label=c, name=f'c{c}', train_count=n, group='medium',
                 num_test=0 if a is None else 10, top1=a)
            for c, (n, a) in enumerate(zip(COUNTS, accs))]
    with open(folder / 'per_class_accuracy.json', 'w') as f:
        json.dump(dict(summary=dict(top1=50.), per_class=rows), f)
    return str(root)


def table(stdout):
    """The printed table as {rho: [values]}."""
    out = {}
    for line in stdout.splitlines():
        cells = line.split()
        if cells and cells[0] != 'rho' and len(cells) >= 2 and all(
                c.replace('.', '', 1).replace('-', '').isdigit() or c == '-'
                for c in cells):
            out[cells[0]] = cells[1:]
    return out


def test_cli_two_work_dirs_hand_computed(tmp_path):
    ce = write_work_dir(tmp_path / 'ce', [60., 90., 30.])
    # class 2 has no test sample: left out, pi renormalised
    bs = write_work_dir(tmp_path / 'bs', [100., 50., None])
    out = tmp_path / 'figs' / 'priors.png'
    proc = run_tool([
        'tools/analysis/plot_test_priors.py', ce, bs, '--out', str(out),
        '--rhos', '4', '1', '1/4', '--labels', 'CE', 'BS'
    ], timeout=120)
    # rho 4: pi ∝ 1, 1/2, 1/4 by rank; rho 1/4: 1, 2, 4
    expected = {
        '4': [(90 + 60 * 0.5 + 30 * 0.25) / 1.75, (50 + 100 * 0.5) / 1.5],
        '1': [(60 + 90 + 30) / 3, (100 + 50) / 2],
        '0.25': [(90 + 60 * 2 + 30 * 4) / 7, (50 + 100 * 2) / 3],
    }
    assert table(proc.stdout) == {
        rho: [f'{v:.2f}' for v in vals] for rho, vals in expected.items()
    }
    assert table(proc.stdout)['4'] == ['72.86', '66.67']
    assert 'CE' in proc.stdout and 'saved' in proc.stdout
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000


def test_default_rhos_are_sades(tmp_path, capsys):
    tool = load_tool()
    ce = write_work_dir(tmp_path / 'ce', [60., 90., 30.])
    out = tool.main([ce, '--out', str(tmp_path / 'p.png')])
    assert open(out, 'rb').read(8) == PNG_MAGIC
    rows = table(capsys.readouterr().out)
    assert list(rows) == ['0.02', '0.04', '0.1', '0.2', '0.5', '1', '2',
                          '5', '10', '25', '50']
    assert rows['1'] == ['60.00']
    # rho 50: pi ∝ 1, 50 ** -0.5, 1/50
    w = 50 ** -0.5
    assert rows['50'] == [f'{(90 + 60 * w + 30 / 50) / (1 + w + 1 / 50):.2f}']


def test_agrees_with_the_metric(tmp_path):
    """The metric's top1_rho and the tool's values from the JSON the metric
    wrote are the same numbers."""
    tool = load_tool()
    rhos = (50, 10, 1, 0.1, 0.02)
    counts = [300, 120, 60, 60, 25, 8, 3]
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(70, 7, generator=gen).softmax(dim=1)
    labels = torch.randint(0, 6, (70, ), generator=gen)  # class 6: no test
    work = tmp_path / 'run' / '20260101_000000'
    metric = METRICS.build(dict(type='ShotAccuracy', class_counts=counts,
                                test_priors=rhos, out_dir=str(work),
                                print_table=False))
    metric.process(None, [dict(gt_label=labels[i:i + 1], pred_score=s)
                          for i, s in enumerate(scores)])
    res = metric.evaluate(70)
    payload = json.load(open(work / 'per_class_accuracy.json'))
    assert tool.prior_curve(payload, rhos) == [
        res[f'shot/top1_rho{rho:g}'] for rho in rhos
    ]
    assert len(set(tool.prior_curve(payload, rhos))) == len(rhos)


@pytest.mark.parametrize('argv', [
    ['--rhos', '0'],
    ['--rhos', '1/0'],
    ['--rhos', 'x'],
    ['--rhos', '50', '50.0'],
    ['--labels', 'a', 'b'],
    [],  # no --out
])
def test_bad_arguments_exit(tmp_path, argv, capsys):
    tool = load_tool()
    ce = write_work_dir(tmp_path / 'ce', [60., 90., 30.])
    if argv:
        argv = argv + ['--out', str(tmp_path / 'x.png')]
    with pytest.raises(SystemExit):
        tool.main([ce] + argv)
    assert not (tmp_path / 'x.png').exists()


def test_work_dir_without_json(tmp_path):
    tool = load_tool()
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no per_class_accuracy.json'):
        tool.main([str(tmp_path / 'empty'), '--out', str(tmp_path / 'x.png')])
