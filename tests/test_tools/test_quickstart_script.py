# Copyright (c) ltplug contributors. All rights reserved.
"""``tools/quickstart.sh`` (the README's first command) runs through: it
prepares Fashion-MNIST from the ``*-ubyte.gz`` files, trains CE and Balanced
Softmax, prints both many / medium / few tables and saves the plot: on
synthetic, well-formed files, and on the real Debian
``dataset-fashion-mnist`` (which ``.ci/run`` installs), both with a
shortened schedule."""
import os.path as osp

from tests.helpers import run_tool
from tests.test_configs.test_quickstart import fake_src, needs_fashion_mnist


def test_quickstart_script(tmp_path):
    src = fake_src(tmp_path / 'src')
    work = tmp_path / 'work'
    out = run_tool(
        ['tools/quickstart.sh', str(work), '--cfg-options',
         'train_cfg.max_epochs=1', 'train_dataloader.dataset.max_per_class=8',
         'val_dataloader.dataset.max_per_class=4'],
        env={'FASHION_MNIST_SRC': src,
             'FASHION_MNIST_DATA': str(tmp_path / 'data')},
        timeout=400).stdout
    # both tables, after both trainings, then the plot
    tail = out[out.index('[quickstart] training balanced_softmax'):]
    ce, bs = tail.index('Cross-entropy\n+'), tail.index('Balanced Softmax\n+')
    assert ce < bs
    assert tail.count('| acc (%) |') >= 3  # BS's own log table + the two
    assert osp.getsize(work / 'per_class.png') > 0
    assert osp.isdir(tmp_path / "data")


@needs_fashion_mnist
def test_quickstart_script_on_real_data(tmp_path):
    """The README's first command as a newcomer runs it (the installed
    Debian files, no FASHION_MNIST_SRC), 1 epoch, tested on the first
    1,000 test images: both tables, with the real profile's groups."""
    work = tmp_path / 'work'
    out = run_tool(
        ['tools/quickstart.sh', str(work), '--cfg-options',
         'train_cfg.max_epochs=1',
         'val_dataloader.dataset.dataset.indices=1000'],
        env={'FASHION_MNIST_DATA': str(tmp_path / 'data')},
        timeout=600).stdout
    assert 'Fashion-MNIST ready' in out
    assert osp.isfile(tmp_path / 'data' / 'train-images-idx3-ubyte')
    tail = out[out.index('[quickstart] training balanced_softmax'):]
    for title in ('Cross-entropy\n+', 'Balanced Softmax\n+'):
        table = tail[tail.index(title):].split('\n\n')[0]
        rows = {ln.strip('|').split('|')[0].strip():
                [c.strip() for c in ln.strip('|').split('|')[1:]]
                for ln in table.splitlines() if ln.startswith('| ')}
        # the quickstart's groups of the real profile, as in README
        assert rows['classes'] == ['10', '10', '5', '3', '2'], table
        assert 0.0 <= float(rows['acc (%)'][0]) <= 100.0, table
    assert osp.getsize(work / 'per_class.png') > 0
