# Copyright (c) ltplug contributors. All rights reserved.
"""``benchmarks/data_throughput.py`` runs at a tiny size, times both data
paths of every method and prints their ratios (a smoke test of the script,
not a timing assertion)."""
import json

from tests.helpers import run_tool


def test_data_throughput_tiny(tmp_path):
    out = tmp_path / 'throughput.json'
    proc = run_tool(['benchmarks/data_throughput.py', '--tiny', '--imagenet',
                     '--json', str(out)], timeout=600)
    result = json.loads(out.read_text())
    assert result['threads'] == 1 and result['samples'] == 128
    assert [r['method'] for r in result['cifar']] == [
        'CE', 'SSD stage I', 'CBD teacher (aug)', 'NCL + MoCo'
    ]
    for row in result['cifar']:
        assert row['per_sample'] > 0 and row['batched'] > 0
        assert len(row['ratios']) == 1 and row['ratio'] == row['ratios'][0]
        assert abs(row['ratio'] - row['batched'] / row['per_sample']) < 0.01
        assert f'{row["ratio"]:6.2f}x' in proc.stdout
        # the workers' share leaves out the batched ops: never slower
        assert abs(row['workers_ratio'] -
                   row['workers'] / row['per_sample']) < 0.06
        assert row['workers'] > row['batched']
    names = [r['config'] for r in result['imagenet']]
    assert 'ce_resnet50_4xb128-90e_imagenet-lt.py' in names
    assert all(r['per_sample'] > 0 for r in result['imagenet'])
    assert result['jpeg_size'] == [500, 375]


def test_data_throughput_decode_tiny(tmp_path):
    out = tmp_path / 'decode.json'
    proc = run_tool(['benchmarks/data_throughput.py', '--decode',
                     '--decode-samples', '8', '--repeat', '2',
                     '--jpeg-size', '120', '90', '--json', str(out)],
                    timeout=300)
    row = json.loads(out.read_text())['decode']
    assert row['per_sample_config'] == 'ce_resnet50_4xb128-90e_imagenet-lt.py'
    assert row['decode_config'] == (
        'ce_resnet50_4xb128-90e_imagenet-lt-gpudecode.py')
    assert row['samples'] == 8 and len(row['ratios']) == 2
    assert row['per_sample'] > 0 and row['decode'] > 0
    assert f'ratio {row["ratio"]:.2f}x' in proc.stdout
