# Copyright (c) ltplug contributors. All rights reserved.
import os.path as osp

import numpy as np
import pytest
from mmpretrain.registry import TRANSFORMS
from PIL import Image

import ltplug.datasets.transforms  # noqa: F401  (registers the transform)
from ltplug.datasets.transforms import CorruptImageError


@pytest.fixture
def jpeg(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (64, 64, 3)).astype(np.uint8)
    path = str(tmp_path / 'ok.jpg')
    Image.fromarray(img).save(path, quality=90)
    return path


def test_good_file_loads(jpeg):
    t = TRANSFORMS.build(dict(type='LoadImageFromFileChecked'))
    out = t(dict(img_path=jpeg))
    assert out['img'].shape == (64, 64, 3)
    assert out['img_shape'] == (64, 64)


def test_truncated_file_is_reported(jpeg, tmp_path):
    data = open(jpeg, 'rb').read()
    bad = str(tmp_path / 'truncated.jpg')
    with open(bad, 'wb') as f:
        f.write(data[:len(data) // 2])
    t = TRANSFORMS.build(dict(type='LoadImageFromFileChecked'))
    with pytest.raises(CorruptImageError, match='truncated.jpg'):
        t(dict(img_path=bad))


def test_garbage_and_missing_files(tmp_path):
    bad = str(tmp_path / 'garbage.png')
    with open(bad, 'wb') as f:
        f.write(b'not an image at all')
    t = TRANSFORMS.build(dict(type='LoadImageFromFileChecked'))
    with pytest.raises(CorruptImageError, match='garbage.png'):
        t(dict(img_path=bad))
    with pytest.raises(FileNotFoundError, match='missing.png'):
        t(dict(img_path=osp.join(str(tmp_path), 'missing.png')))


def test_ignore_empty_is_refused():
    with pytest.raises(ValueError, match='ignore_empty'):
        TRANSFORMS.build(
            dict(type='LoadImageFromFileChecked', ignore_empty=True))


def _encode(fmt: str, **kwargs) -> bytes:
    import io
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (48, 40, 3)).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, fmt, **kwargs)
    return buf.getvalue()


@pytest.mark.parametrize('kwargs', [
    dict(format='JPEG', quality=90),
    dict(format='JPEG', quality=90, progressive=True),
    dict(format='PNG'),
])
def test_truncation_reason_whole_and_cut(kwargs):
    from ltplug.datasets.transforms.load_image_from_file_checked import \
        truncation_reason
    fmt = kwargs.pop('format')
    data = _encode(fmt, **kwargs)
    assert truncation_reason(data) is None
    for frac in (0.3, 0.9):
        assert truncation_reason(data[:int(len(data) * frac)]) is not None
    assert truncation_reason(data[:-3]) is not None


def test_jpeg_with_exif_thumbnail_is_whole_and_its_cut_is_not():
    # an EXIF thumbnail carries its own end-of-image marker before the main
    # image's scans: a file cut inside the main scan must still be refused
    from ltplug.datasets.transforms.load_image_from_file_checked import \
        truncation_reason
    thumb = _encode('JPEG', quality=50)
    app1 = b'Exif\x00\x00' + thumb
    segment = b'\xff\xe1' + (len(app1) + 2).to_bytes(2, 'big') + app1
    main = _encode('JPEG', quality=90)
    data = main[:2] + segment + main[2:]
    assert truncation_reason(data) is None
    assert truncation_reason(data[:len(data) - len(main) // 3]) is not None


def test_truncated_jpeg_refused_even_if_the_decoder_accepts_it(
        jpeg, tmp_path, monkeypatch):
    # OpenCV builds differ: some decode a truncated JPEG into a partly grey
    # image without an error. The check must not depend on the decoder.
    import mmcv
    data = open(jpeg, 'rb').read()
    bad = str(tmp_path / 'cut.jpg')
    with open(bad, 'wb') as f:
        f.write(data[:len(data) * 3 // 4])
    monkeypatch.setattr(mmcv, 'imfrombytes',
                        lambda *a, **k: np.zeros((64, 64, 3), np.uint8))
    t = TRANSFORMS.build(dict(type='LoadImageFromFileChecked'))
    with pytest.raises(CorruptImageError, match='cut.jpg.*truncated JPEG'):
        t(dict(img_path=bad))


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_decodes_once(jpeg, monkeypatch, backend):
    # "no extra decode cost": one decode per image, with the configured
    # backend, and no second full decode by Pillow on the side
    import mmcv
    import PIL.Image
    calls = {'imfrombytes': 0, 'open': 0}
    real_decode, real_open = mmcv.imfrombytes, PIL.Image.open

    def decode(*a, **k):
        calls['imfrombytes'] += 1
        return real_decode(*a, **k)

    def pil_open(*a, **k):
        calls['open'] += 1
        return real_open(*a, **k)

    monkeypatch.setattr(mmcv, 'imfrombytes', decode)
    monkeypatch.setattr(PIL.Image, 'open', pil_open)
    t = TRANSFORMS.build(
        dict(type='LoadImageFromFileChecked', imdecode_backend=backend))
    out = t(dict(img_path=jpeg))
    stock = TRANSFORMS.build(
        dict(type='LoadImageFromFile', imdecode_backend=backend))
    calls_before = dict(calls)
    ref = stock(dict(img_path=jpeg))
    np.testing.assert_array_equal(out['img'], ref['img'])
    # the checked loader did exactly what the stock loader does once
    assert calls_before == {
        'imfrombytes': 1,
        'open': 1 if backend == 'pillow' else 0
    }


def test_empty_and_pillow_backend_errors(jpeg, tmp_path):
    empty = str(tmp_path / 'empty.jpg')
    open(empty, 'wb').close()
    t = TRANSFORMS.build(dict(type='LoadImageFromFileChecked'))
    with pytest.raises(CorruptImageError, match='empty.jpg is empty'):
        t(dict(img_path=empty))
    garbage = str(tmp_path / 'garbage.bmp')
    with open(garbage, 'wb') as f:
        f.write(b'BM' + bytes(30))
    t = TRANSFORMS.build(
        dict(type='LoadImageFromFileChecked', imdecode_backend='pillow'))
    with pytest.raises(CorruptImageError, match='garbage.bmp with pillow'):
        t(dict(img_path=garbage))
