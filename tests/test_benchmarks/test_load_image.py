# Copyright (c) ltplug contributors. All rights reserved.
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))

import load_image  # noqa: E402


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_tiny_run_reports_both_loaders_and_their_ratio(backend, capsys):
    result = load_image.main(['--tiny', '--backend', backend])
    ms = result['ms_per_image']
    assert set(ms) == {'stock', 'checked'} and min(ms.values()) > 0
    assert result['ratio_checked_to_stock'] == pytest.approx(
        ms['checked'] / ms['stock'], rel=1e-2)
    assert '"ratio_checked_to_stock"' in capsys.readouterr().out


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="images must be a positive int, "
                       "got '3'"):
        load_image.run(images='3')
