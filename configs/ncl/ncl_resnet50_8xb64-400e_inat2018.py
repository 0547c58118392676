# NCL, 3 x ResNet-50, iNaturalist 2018, no MoCo (inat18_NCL.yaml): cosine
# classifier scale 32 (learnable bias), HCM_N = 2442, 400 epochs cosine
# (eta_min 1e-4, no warm-up), lr 0.2 for 8 x 64 = 512 images (the README's
# total batch), iNat mean / std, SyncBN.
_base_ = [
    '../_base_/datasets/inat2018.py',
    '../_base_/default_runtime.py',
    './_base_/randaugment_timm_policies.py',
]

model = dict(
    type='NCLMultiExpertClassifier',
    num_experts=3,
    # PyTorch's default init, as the code's ResNet-50 (see the ImageNet-LT
    # config)
    backbone=dict(
        type='ResNet', depth=50, zero_init_residual=False, init_cfg=None),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='CosineClsHead',
        num_classes=8142,
        in_channels=2048,
        scale=32.,
        bias=True,
        # PyTorch's Linear default, as the code: U(+-1/sqrt(2048))
        init_cfg=dict(type='Uniform', layer='Linear', a=-2048**-0.5,
                      b=2048**-0.5)),
    loss=dict(type='NCLLoss', hcm_n=2442, hcm_mask='zero'),
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=8142,
        mean=[0.466 * 255, 0.471 * 255, 0.380 * 255],
        std=[0.195 * 255, 0.194 * 255, 0.192 * 255],
        to_rgb=True))

# same augmentation as ImageNet-LT ("randcls")
train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='RandAugment',
         policies={{_base_.timm_rand_policies}},
         num_policies=2,
         total_level=10,
         magnitude_level=10,
         magnitude_std=0.5,
         # the code's fill is the ImageNet mean for iNat too (BGR here)
         hparams=dict(pad_val={{_base_.timm_fill_bgr}})),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    drop_last=True,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
val_evaluator = [
    dict(type='ShotAccuracy', topk=(1, 5)),
    dict(type='ExpertAccuracy'),
]
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.2, momentum=0.9, nesterov=True, weight_decay=2e-4))
param_scheduler = dict(
    type='CosineAnnealingLR', T_max=400, eta_min=1e-4, by_epoch=True,
    begin=0, end=400)
train_cfg = dict(by_epoch=True, max_epochs=400, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=512)
sync_bn = 'torch'
