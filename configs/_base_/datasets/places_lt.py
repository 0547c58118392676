# Places-LT (Liu et al., OLTR split; lists from classifier-balancing):
# 365 classes, train 62,500 images (4980 .. 5 per class), val 7,300 (20 per
# class, from Places365-Standard train), test 36,500 (100 per class, the
# Places365-Standard val set). ``data_root`` is the Places365-Standard
# "easy format" folder (``train/<class>/*.jpg``, ``val/<class>/*.jpg``)
# plus the lists ``Places_LT_{train,val,test}.txt``. Every split exposes the
# training counts (read from Places_LT_train.txt) in
# metainfo['class_counts'].
dataset_type = 'PlacesLT'
data_root = 'data/places365'
data_preprocessor = dict(
    num_classes=365,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    # images are loaded as BGR
    to_rgb=True)

# Images load with ``LoadImageFromFileChecked`` (ltplug): one decode, as
# MMCV's ``LoadImageFromFile``, plus a cheap structural check, so that a
# truncated / corrupt file stops the run with the list file, line and path
# (the stock loader fails in an ``assert``, or later under ``python -O``);
# benchmarks/load_image.py measures its cost against the stock loader.
# Resizing uses Pillow's bilinear filter, which anti-aliases when it
# shrinks, as torchvision's Resize / RandomResizedCrop on PIL images in
# the official PyTorch codes (classifier-balancing, BALMS, SSD-LT, NCL);
# backend='cv2' (MMPretrain's default, no anti-aliasing) is the other
# choice.
train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(
        type='ResizeEdge',
        scale=256,
        edge='short',
        backend='pillow',
        interpolation='bilinear'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=5,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=5,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=64,
    num_workers=5,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        pipeline=test_pipeline))
# top-1 / top-5 overall, top-1 per many/medium/few group (training counts
# > 100 / 20-100 / < 20)
val_evaluator = dict(type='ShotAccuracy', topk=(1, 5))
test_evaluator = val_evaluator
