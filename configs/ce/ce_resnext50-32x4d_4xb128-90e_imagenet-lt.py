# Cross-entropy (instance-balanced, "joint") ResNeXt-50 32x4d on ImageNet-LT:
# the decoupling stage one (classifier-balancing feat_uniform.yaml): 90
# epochs, 4 GPUs x 128 = 512 images, SGD lr 0.2, cosine; RandomResizedCrop
# 224 + flip + ColorJitter(0.4, 0.4, 0.4), as in its data loader.
_base_ = [
    '../_base_/datasets/imagenet_lt.py',
    '../_base_/schedules/imagenet_lt_90e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNeXt', depth=50, num_stages=4, out_indices=(3, ),
        groups=32, width_per_group=4, style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))

train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=128, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=128, dataset=dict(pipeline=test_pipeline))
