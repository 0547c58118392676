# NCL with per-expert MoCo (the code's default --cfg,
# cifar100_im100_NCL_with_contrastive.yaml): 3 x ResNet-32, CIFAR-100-LT
# ratio 100, K = 1024, dim 64, T = 0.2, momentum 0.999, weight 1.
# moco_mode='official' reproduces the released code (frozen random key
# head, EMA applied E = 3 times per step); 'corrected' is standard MoCo.
_base_ = ['./ncl_resnet32_1xb64-400e_cifar100-lt-r100.py']

model = dict(
    moco=dict(queue_size=1024, dim=64, temperature=0.2, momentum=0.999,
              loss_weight=1.),
    moco_mode='official',
    # two views: normalises a list of view batches (needs default_collate)
    data_preprocessor=dict(
        _delete_=True,
        type='SelfSupDataPreprocessor',
        mean=[0.4914 * 255, 0.4822 * 255, 0.4465 * 255],
        std=[0.2023 * 255, 0.1994 * 255, 0.2010 * 255],
        to_rgb=False))

# view 1: the classification view; view 2 (EMA keys): MoCo-v2 style.
# The code jitters hue by 0.1 (under numpy 2 this needs ltplug's
# adjust_hue fix, installed by `import ltplug`).
moco_view = [
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.2, 1.),
         backend='pillow'),
    # MMCV's colour jitter assumes BGR; the CIFAR arrays are RGB
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
         transforms=[{{_base_.ncl_cifar_view}}, moco_view]),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    collate_fn=dict(type='default_collate'),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(collate_fn=dict(type='default_collate'))
test_dataloader = val_dataloader
