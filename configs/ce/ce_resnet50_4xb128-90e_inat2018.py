# Cross-entropy (instance-balanced, "joint") ResNet-50 on iNaturalist 2018,
# the decoupling stage one (classifier-balancing
# config/iNaturalist18/feat_unifrom.yaml): trained from scratch, 90 epochs,
# 512 images per step (4 GPUs x 128), SGD lr 0.2, momentum 0.9, weight decay
# 1e-4 (not ImageNet-LT's 5e-4), cosine to 0; RandomResizedCrop 224 + flip +
# ColorJitter 0.4 and the iNaturalist RGB statistics of its data loader
# (mean 0.466 / 0.471 / 0.380, std 0.195 / 0.194 / 0.192).
_base_ = [
    '../_base_/datasets/inat2018.py',
    '../_base_/schedules/imagenet_lt_90e.py',
    '../_base_/default_runtime.py',
]

data_preprocessor = dict(
    mean=[118.83, 120.105, 96.9], std=[49.725, 49.47, 48.96])
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet', depth=50, num_stages=4, out_indices=(3, ),
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=8142,
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
# the official val2018 set is the test set
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=1e-4))
auto_scale_lr = dict(base_batch_size=512)
