# Fashion-MNIST-LT: MMPretrain's FashionMNIST (28 x 28 grayscale, 10 classes,
# 6,000 train / 1,000 test images per class) made long-tailed with the
# CIFAR-LT exponential profile at imbalance ratio 100 (LDAM selection, seed
# 0): 6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60 train images,
# 14,886 in all; many / medium / few = 8 / 2 / 0 classes (> 100 / 20-100 /
# < 20). The test split stays the full balanced one (subsample=False); with
# n_max=6000 its class_counts are the train profile, which ShotAccuracy reads.
#
# Data: `python tools/misc/prepare_fashion_mnist.py` gunzips the files of
# Debian's `dataset-fashion-mnist` package into data/fashion_mnist (no
# download). Elsewhere set download=True below and MMPretrain downloads them.
dataset_type = 'FashionMNIST'
data_root = 'data/fashion_mnist'
imbalance_ratio = 100.

# one channel: models built on this set need in_channels=1 in the backbone
# (mean / std of the Fashion-MNIST train set: 0.2860 / 0.3530 x 255)
data_preprocessor = dict(
    num_classes=10, mean=[72.94], std=[90.02], to_rgb=False)

train_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='LongTailSubset',
        imbalance_ratio=imbalance_ratio,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            split='train',
            download=False,
            pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=500,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='LongTailSubset',
        imbalance_ratio=imbalance_ratio,
        n_max=6000,
        subsample=False,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            split='test',
            # MMPretrain's MNIST classes pick the test files by test_mode,
            # not by split
            test_mode=True,
            download=False,
            pipeline=test_pipeline)))
test_dataloader = val_dataloader

val_evaluator = dict(type='ShotAccuracy', topk=(1, 5))
test_evaluator = val_evaluator
