# Copyright (c) ltplug contributors. All rights reserved.
"""``benchmarks/step_time.py`` runs at a tiny size and reports what the
README's Performance section quotes (so the script cannot rot)."""
import json

from tests.helpers import run_tool


def test_step_time_tiny(tmp_path):
    out = tmp_path / 'step_time.json'
    run_tool(['benchmarks/step_time.py', '--tiny', '--methods', 'cbd_k1',
              'ncl_e3', '--out', str(out)], timeout=300)
    result = json.loads(out.read_text())
    assert set(result['ratio_to_ce']) == {'cbd_k1', 'ncl_e3'}
    med = result['median_ms']
    for name, ratio in result['ratio_to_ce'].items():
        assert med[name] > 0
        assert abs(ratio - med[name] / med['ce']) < 0.01
    # floors follow the documented formulas from the same run's figures
    step, fwd = med['ce'], med['forward']
    assert 'forward_bn' in med
    assert abs(result['floor_ratio_to_ce']['cbd_k1'] -
               (step + fwd) / step) < 0.01
    assert result['floor_ratio_to_ce']['ncl_e3'] == 3.0
    assert result['batch_size'] == 8
    assert result['shortcut'] == 'A'  # the configs' zero-pad shortcut
    # minor page faults per step of every timed model (Linux counts them)
    faults = result['minor_faults']
    assert set(faults) == set(med)
    assert all(v is not None and v >= 0 for v in faults.values())


def test_step_time_unknown_method_is_refused():
    proc = run_tool(['benchmarks/step_time.py', '--tiny', '--methods',
                     'nope'], check=False, timeout=120)
    assert proc.returncode == 2
    assert "unknown methods ['nope']" in proc.stdout


def test_step_time_builds_the_chosen_shortcut(tmp_path):
    """``--shortcut`` reaches every model: 'A' (the configs') has no
    shortcut parameters, 'B' the 1x1 conv + BN."""
    from tests.helpers import load_script
    step_time = load_script('benchmarks/step_time.py')
    for shortcut, has_conv in (('A', False), ('B', True)):
        builder = step_time.Builder(20, 4, str(tmp_path), shortcut)
        for model in (builder.ce(), builder.ncl(2, moco=True)):
            keys = model.state_dict()
            assert any('downsample' in k for k in keys) is has_conv


def test_step_time_bad_shortcut_is_refused():
    proc = run_tool(['benchmarks/step_time.py', '--tiny', '--shortcut', 'C'],
                    check=False, timeout=120)
    assert proc.returncode == 2
    assert "invalid choice: 'C'" in proc.stdout
