# iNaturalist 2018 has no official SSD code (only ImageNet-LT is released):
# this reuses the ImageNet-LT recipe unchanged except for the backbone,
# the classes and K.
# SSD stage I (self-supervision-guided feature learning), ResNet-50,
# iNaturalist 2018: the ImageNet-LT ssd_stage_i.py recipe (SSFL): CE on the
# query view + label-aware MoCo (2048-2048-128 projections, K = 437,504,
# T 0.2, momentum 0.999), 135 epochs, global batch 256, SGD lr 0.1,
# momentum 0.9, wd 5e-4 on all parameters, cosine set per epoch, no AMP.
_base_ = [
    '../_base_/datasets/inat2018.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='SSDMoCoClassifier',
    # torchvision-style ResNet-50: Kaiming fan_out, no zero-init of the
    # last BN of each block
    backbone=dict(type='ResNet', depth=50, zero_init_residual=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=8142,
        in_channels=2048,
        init_cfg=None,  # plain nn.Linear
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    # = 1709 x 256, the largest multiple of the global batch <= 437,513
    # (ssd_queue_size(437513, 256)); with another global batch B use
    # ssd_queue_size(437513, B)
    queue_size=437504,
    feat_dim=2048,
    hidden_dim=2048,
    proj_dim=128,
    momentum=0.999,
    shuffle_bn=True,  # across GPUs, as the code
    batch_size=64,  # per GPU (= train_dataloader.batch_size)
    contrast_loss=dict(
        type='LabelAwareMoCoLoss', temperature=0.2, loss_weight=1.0),
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean={{_base_.data_preprocessor.mean}},
        std={{_base_.data_preprocessor.std}},
        to_rgb={{_base_.data_preprocessor.to_rgb}}))

# query view (supervised): RRC 224 (scale (0.08, 1)), ColorJitter
# (0.4, 0.4, 0.4, 0), flip
query_view = [
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
# key view (MoCo v2): RRC 224 (0.2, 1), ColorJitter (0.4, 0.4, 0.4, 0.1)
# p 0.8, grayscale p 0.2, Gaussian blur sigma [0.1, 2] p 0.5, flip
# (hue 0.1 under numpy 2 needs ltplug's adjust_hue fix, installed by
# `import ltplug`).
key_view = [
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.2, 1.),
         backend='pillow'),
    dict(type='RandomApply',
         transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4,
                          saturation=0.4, hue=0.1)],
         prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),  # BGR images
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
         magnitude_std='inf', prob=0.5),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='MultiView', num_views=[1, 1],
         transforms=[query_view, key_view]),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    drop_last=True,
    collate_fn=dict(type='default_collate'),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(collate_fn=dict(type='default_collate'))
test_dataloader = dict(collate_fn=dict(type='default_collate'))

# one group of the trainable parameters (foreach SGD): the constructor
# leaves out the EMA key encoder (requires_grad=False)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4),
    constructor='TrainableOptimWrapperConstructor')
param_scheduler = dict(
    type='CosineAnnealingLR', T_max=135, eta_min=0., by_epoch=True,
    begin=0, end=135)
train_cfg = dict(by_epoch=True, max_epochs=135, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
