# iNaturalist 2018 has no official SSD code (only ImageNet-LT is released):
# this reuses the ImageNet-LT recipe unchanged except for the backbone,
# the classes and K.
# SSD stage II (soft-label generator, the official SLG), ResNet-50,
# iNaturalist 2018: LWS on the frozen stage-I encoder and classifier,
# class-aware sampling with 2 images per class, 5 epochs, global batch 512,
# SGD lr 0.2, cosine per epoch.
_base_ = [
    '../_base_/datasets/inat2018.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='SSDLWSClassifier',
    backbone=dict(type='ResNet', depth=50, zero_init_residual=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LWSHead', num_classes=8142, in_channels=2048),
    # THE previous stage, in one place (--cfg-options
    # model.init_checkpoint=PATH): backbone.*, neck.*, head.fc.* are taken
    init_checkpoint='work_dirs/ssd-stage1_resnet50_4xb64-135e_'
    'inat2018/epoch_135.pth',
    # 'train' (official): BN statistics of the frozen encoder move
    frozen_bn_mode='train')

train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    drop_last=True,
    sampler=dict(_delete_=True, type='ClassAwareSampler', num_samples_cls=2),
    dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=5e-4),
    constructor='TrainableOptimWrapperConstructor')
param_scheduler = dict(
    type='CosineAnnealingLR', T_max=5, eta_min=0., by_epoch=True, begin=0,
    end=5)
train_cfg = dict(by_epoch=True, max_epochs=5, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=512)
