# Copyright (c) ltplug contributors. All rights reserved.
"""tools/misc/verify_images.py on a tiny folder with a truncated JPEG, a
missing file, an empty file and a non-image."""

import numpy as np
import pytest
from PIL import Image

from tests.helpers import load_script, run_tool

TOOL = 'tools/misc/verify_images.py'


def load_tool():
    return load_script(TOOL)


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / 'c0').mkdir()
    lines = []
    for i in range(5):
        img = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
        Image.fromarray(img).save(tmp_path / 'c0' / f'{i}.jpg', quality=90)
        lines.append(f'c0/{i}.jpg 0')
    # truncated JPEG (some OpenCV builds decode it with gray fill)
    data = (tmp_path / 'c0' / '3.jpg').read_bytes()
    (tmp_path / 'c0' / '3.jpg').write_bytes(data[:len(data) // 2])
    (tmp_path / 'c0' / 'empty.jpg').write_bytes(b'')
    (tmp_path / 'c0' / 'text.jpg').write_text('not an image')
    lines += ['c0/missing.jpg 1', 'c0/empty.jpg 1', 'c0/text.jpg 1']
    (tmp_path / 'list.txt').write_text('\n'.join(lines) + '\n')
    return tmp_path


@pytest.mark.parametrize('workers', [1, 2])
def test_bad_lines_are_named(folder, workers):
    tool = load_tool()
    bad = tool.verify_list(str(folder / 'list.txt'), str(folder),
                           workers=workers, progress=False)
    assert [(n, p) for n, p, _ in bad] == [(4, 'c0/3.jpg'),
                                           (6, 'c0/missing.jpg'),
                                           (7, 'c0/empty.jpg'),
                                           (8, 'c0/text.jpg')]
    reasons = [r for _, _, r in bad]
    assert 'image file is truncated' in reasons[0]
    assert reasons[1:3] == ['missing', 'empty file']
    assert reasons[3].startswith('corrupt (UnidentifiedImageError')


def test_cli_progress_exit_status_and_out(folder):
    out = folder / 'bad.txt'
    proc = run_tool([TOOL, str(folder / 'list.txt'), str(folder),
                     '--workers', '2', '--out', str(out)], check=False)
    assert proc.returncode == 1, proc.stdout
    assert f'{folder / "list.txt"}:4: c0/3.jpg: corrupt' in proc.stdout
    assert '8/8' in proc.stdout  # the progress bar reached the end
    assert '4 bad image(s) out of 8' in proc.stdout
    assert out.read_text().splitlines() == [
        'c0/3.jpg 0', 'c0/missing.jpg 1', 'c0/empty.jpg 1', 'c0/text.jpg 1']
    # a clean list passes
    good = folder / 'good.txt'
    good.write_text('c0/0.jpg 0\nc0/1.jpg 0\n')
    tool = load_tool()
    assert tool.main([str(good), str(folder), '--workers', '1']) == 0


def test_argument_errors(folder):
    tool = load_tool()
    with pytest.raises(ValueError, match='got 0'):
        tool.verify_list(str(folder / 'list.txt'), str(folder), workers=0)
    with pytest.raises(FileNotFoundError, match='nowhere'):
        tool.verify_list(str(folder / 'list.txt'), str(folder / 'nowhere'))
