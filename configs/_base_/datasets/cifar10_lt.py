# CIFAR-10-LT (exponential profile, imbalance ratio 100: 12,406 training
# images, 5000 .. 50 per class; LDAM-DRW selection, numpy seed 0) and the
# full balanced CIFAR-10 test set (10,000). Both splits expose the training
# counts in metainfo['class_counts'] (ShotAccuracy's many/medium/few), so
# keep ``imbalance_ratio`` equal in the train and val/test datasets when
# you override it.
dataset_type = 'CIFAR10LT'
data_preprocessor = dict(
    num_classes=10,
    # RGB normalisation of MMPretrain's CIFAR configs
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    # the CIFAR arrays are RGB already
    to_rgb=False)

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root='data/cifar10',
        split='train',
        imbalance_ratio=100.,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root='data/cifar10',
        split='test',
        imbalance_ratio=100.,
        pipeline=test_pipeline))
# top-1 overall and per many/medium/few group (training counts > 100 /
# 20-100 / < 20)
val_evaluator = dict(type='ShotAccuracy', topk=(1, ))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
