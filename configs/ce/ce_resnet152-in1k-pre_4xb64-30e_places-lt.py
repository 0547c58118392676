# Cross-entropy (instance-balanced, "joint") ResNet-152 on Places-LT, the
# decoupling stage one for Places (Kang et al., ICLR 2020; OLTR's protocol):
# the backbone starts from ImageNet-1k pre-trained weights (MMPretrain's
# resnet152_8xb32_in1k model-zoo checkpoint, 78.48 top-1 on ImageNet) and is
# fine-tuned for 30 epochs with a fresh 365-way linear classifier.
#
# Optimiser as classifier-balancing config/Places_LT/cls_{crt,lws}.yaml (the
# repository ships no Places stage-one yaml; its stage-two files keep the
# stage-one optimiser): 256 images per step (4 GPUs x 64), SGD momentum 0.9,
# weight decay 5e-4, classifier lr 0.1, backbone lr 0.01 (lr_mult 0.1),
# cosine to 0 per epoch. Pipelines as the ImageNet-LT CE config
# (RandomResizedCrop 224 + flip + ColorJitter 0.4), ImageNet normalisation.
_base_ = [
    '../_base_/datasets/places_lt.py',
    '../_base_/schedules/imagenet_lt_90e.py',
    '../_base_/default_runtime.py',
]

pretrained = 'https://download.openmmlab.com/mmclassification/v0/resnet/' \
    'resnet152_8xb32_in1k_20210901-4d7582fa.pth'
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet', depth=152, num_stages=4, out_indices=(3, ),
        style='pytorch',
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=365,
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
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = dict(
    _delete_=True, type='CosineAnnealingLR', by_epoch=True, begin=0, end=30,
    T_max=30, eta_min=0.)
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=5)
# lr 0.1 / 0.01 are for 256 images per step
auto_scale_lr = dict(base_batch_size=256)
