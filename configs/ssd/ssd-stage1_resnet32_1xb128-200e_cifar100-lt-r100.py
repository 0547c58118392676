# SSD stage I (self-supervision-guided feature learning), ResNet-32,
# CIFAR-100-LT ratio 100: CE on the query view + label-aware MoCo
# (T 0.2, EMA momentum 0.999, queue of keys with their labels).
# The official code has ImageNet-LT scripts only; the CIFAR recipe here is
# ours (see README.md, "Paper vs code"): 200 epochs, batch 128, SGD lr 0.1,
# momentum 0.9, wd 5e-4 on every parameter, cosine set per epoch.
_base_ = [
    '../_base_/datasets/cifar100_lt.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='SSDMoCoClassifier',
    backbone=dict(type='CIFARResNet', depth=32, shortcut='A'),
    neck=dict(type='GlobalAveragePooling'),
    # plain nn.Linear (PyTorch's default init), as the official classifier
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=64,
        init_cfg=None,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    # K: the largest multiple of the global batch (128) <= 10,847 training
    # images (ssd_queue_size(10847, 128)), i.e. about one epoch of keys
    queue_size=10752,
    # 2048-2048-128 for ResNet-50/ResNeXt-50; ResNet-32's feature is 64-d,
    # so the projection is 64-64-128 (the hidden layer follows the backbone
    # width, the key width keeps the code's dim=128)
    feat_dim=64,
    hidden_dim=64,
    proj_dim=128,
    momentum=0.999,
    shuffle_bn=True,
    # per-rank train batch, for the build-time check K % (batch x world)
    # == 0 (keep it equal to train_dataloader.batch_size)
    batch_size=128,
    contrast_loss=dict(
        type='LabelAwareMoCoLoss', temperature=0.2, loss_weight=1.0),
    # two views: normalises a list of view batches (needs default_collate)
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean={{_base_.data_preprocessor.mean}},
        std={{_base_.data_preprocessor.std}},
        to_rgb={{_base_.data_preprocessor.to_rgb}}))

# query view (the supervised augmentation; the code's RRC + ColorJitter
# (0.4, 0.4, 0.4, 0) + flip, with the usual CIFAR pad-4 crop in place of
# the 224-px RandomResizedCrop)
query_view = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # MMCV's colour jitter assumes BGR; the CIFAR arrays are RGB
    dict(type='ApplyInBGR', channel_order='rgb', transforms=[
        dict(type='ColorJitter', brightness=0.4, contrast=0.4,
             saturation=0.4)]),
]
# key view: MoCo v2 (RRC scale (0.2, 1), ColorJitter (0.4, 0.4, 0.4, 0.1)
# p 0.8, grayscale p 0.2, Gaussian blur sigma [0.1, 2] p 0.5, flip).
# Hue 0.1 as the code (under numpy 2 this needs ltplug's adjust_hue fix,
# installed by `import ltplug`).
key_view = [
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.2, 1.),
         backend='pillow'),
    dict(type='ApplyInBGR', channel_order='rgb', transforms=[
        dict(type='RandomApply',
             transforms=[dict(type='ColorJitter', brightness=0.4,
                              contrast=0.4, saturation=0.4, hue=0.1)],
             prob=0.8)]),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.2989, 0.587, 0.114)),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
         magnitude_std='inf', prob=0.5),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
train_pipeline = [
    dict(type='MultiView', num_views=[1, 1],
         transforms=[query_view, key_view]),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=128,
    drop_last=True,  # constant batch: K stays a multiple of it
    collate_fn=dict(type='default_collate'),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(collate_fn=dict(type='default_collate'))
test_dataloader = val_dataloader

# SGD on all trainable parameters (BN included, no Nesterov), in one group
# (foreach SGD); the constructor leaves out the EMA key encoder, whose
# parameters have requires_grad=False
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4),
    constructor='TrainableOptimWrapperConstructor')
# lr * 0.5 * (1 + cos(pi * epoch / epochs)), constant inside an epoch
param_scheduler = dict(
    type='CosineAnnealingLR', T_max=200, eta_min=0., by_epoch=True,
    begin=0, end=200)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
