# CIFAR-100-LT (exponential profile, imbalance ratio 100: 10,847 training
# images, 500 .. 5 per class; LDAM-DRW selection, numpy seed 0) and the
# full balanced CIFAR-100 test set (10,000). Both splits expose the training
# counts in metainfo['class_counts'] (ShotAccuracy's many/medium/few), so
# keep ``imbalance_ratio`` equal in the train and val/test datasets when
# you override it.
dataset_type = 'CIFAR100LT'
data_preprocessor = dict(
    num_classes=100,
    # RGB normalisation of MMPretrain's CIFAR configs
    mean=[129.304, 124.070, 112.434],
    std=[68.170, 65.392, 70.418],
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
        data_root='data/cifar100',
        split='train',
        imbalance_ratio=100.,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root='data/cifar100',
        split='test',
        imbalance_ratio=100.,
        pipeline=test_pipeline))
# top-1 overall and per many/medium/few group (training counts > 100 /
# 20-100 / < 20)
val_evaluator = dict(type='ShotAccuracy', topk=(1, ))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
