# SSD stage II (soft-label generator), ResNet-32, CIFAR-100-LT ratio 100:
# LWS (learnable per-class scales s, logits = s * (W f + b)) on the frozen
# stage-I encoder and linear classifier, class-aware sampling with 2 images
# per class, 5 epochs (the official SLG recipe; batch and lr scaled from
# the official 512 / 0.2 to 128 / 0.05).
_base_ = [
    '../_base_/datasets/cifar100_lt.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='SSDLWSClassifier',
    backbone=dict(type='CIFARResNet', depth=32, shortcut='A'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LWSHead', num_classes=100, in_channels=64),
    # THE previous stage, in one place (override with
    # --cfg-options model.init_checkpoint=PATH): backbone.*, neck.* and
    # head.fc.* are taken from it and frozen
    init_checkpoint='work_dirs/ssd-stage1_resnet32_1xb128-200e_'
    'cifar100-lt-r100/epoch_200.pth',
    # 'train' (official): the frozen encoder's BN uses batch statistics and
    # re-estimates its running statistics on class-balanced batches;
    # 'eval': they stay as stage I left them
    frozen_bn_mode='train')

# the stage-I query-view augmentation (official stage II: RRC + ColorJitter
# + flip)
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # MMCV's colour jitter assumes BGR; the CIFAR arrays are RGB
    dict(type='ApplyInBGR', channel_order='rgb', transforms=[
        dict(type='ColorJitter', brightness=0.4, contrast=0.4,
             saturation=0.4)]),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=128,
    drop_last=True,
    sampler=dict(_delete_=True, type='ClassAwareSampler', num_samples_cls=2),
    dataset=dict(pipeline=train_pipeline))

# only head.scales trains; the constructor leaves the frozen parameters
# out of the optimizer (one group)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4),
    constructor='TrainableOptimWrapperConstructor')
param_scheduler = dict(
    type='CosineAnnealingLR', T_max=5, eta_min=0., by_epoch=True, begin=0,
    end=5)
train_cfg = dict(by_epoch=True, max_epochs=5, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
