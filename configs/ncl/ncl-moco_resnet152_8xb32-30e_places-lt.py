# NCL + per-expert MoCo, 3 x ResNet-152 initialised from torchvision's
# ImageNet weights (resnet152-b121ed2d.pth, as the code; the EMA copies
# too) and fully fine-tuned, Places-LT (Places_LT_NCL.yaml): cosine
# classifier scale 16 (learnable bias), HCM_N = 122, MoCo K = 65536,
# dim 1024, T = 0.2, 30 epochs, lr 0.02 for 8 x 32 = 256 images, warm-up
# 5 epochs then x0.1 at 10 and 20, SyncBN.
_base_ = [
    '../_base_/datasets/places_lt.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='NCLMultiExpertClassifier',
    num_experts=3,
    backbone=dict(
        type='ResNet',
        depth=152,
        zero_init_residual=False,
        # every expert and every EMA copy loads these weights
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/'
            'resnet152-b121ed2d.pth',
            # torchvision's file also holds its ImageNet classifier, which
            # the backbone has not (Pretrained init is strict in ltplug)
            allow_unexpected=['fc.'])),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='CosineClsHead',
        num_classes=365,
        in_channels=2048,
        scale=16.,
        bias=True,
        # PyTorch's Linear default, as the code: U(+-1/sqrt(2048))
        init_cfg=dict(type='Uniform', layer='Linear', a=-2048**-0.5,
                      b=2048**-0.5)),
    loss=dict(type='NCLLoss', hcm_n=122, hcm_mask='zero'),
    moco=dict(queue_size=65536, dim=1024, temperature=0.2, momentum=0.999,
              loss_weight=1.),
    moco_mode='official',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True))

# "sim_sim": the same SimCLR-like augmentation for both views
sim_view = [
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    # torchvision's L = 0.299 R + 0.587 G + 0.114 B, on BGR arrays
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
         magnitude_std='inf', prob=0.5),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='MultiView', num_views=2, transforms=[sim_view]),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    drop_last=True,
    collate_fn=dict(type='default_collate'),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    collate_fn=dict(type='default_collate'),
    dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=64,
    collate_fn=dict(type='default_collate'),
    dataset=dict(pipeline=test_pipeline))
val_evaluator = [
    dict(type='ShotAccuracy', topk=(1, 5)),
    dict(type='ExpertAccuracy'),
]
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.02, momentum=0.9, nesterov=True, weight_decay=2e-4))
# warm-up 5 epochs from lr / 3, x0.1 at 10 and 20, stepped as the code at
# the start of each 1-based epoch (0-based epoch e uses step e + 1; see
# _base_/ncl_resnet32_cifar_lt.py)
param_scheduler = [
    dict(type='LinearLR', start_factor=7. / 15, by_epoch=True, begin=0,
         end=5),
    dict(type='MultiStepLR', by_epoch=True, milestones=[9, 19], gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
sync_bn = 'torch'
