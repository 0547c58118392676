# NCL + MoCo, 3 x ResNet-32, CIFAR-10-LT ratio 100, as
# ncl-moco_resnet32_1xb64-400e_cifar10-lt-r100.py, with both views drawn
# per sample on each batch on the device by BatchAugDataPreprocessor (the
# dataset yields the uint8 images unchanged; docs/batch_augment.md).
# Opt-in; the per-sample MultiView pipeline stays the reference.
_base_ = ['../ncl/ncl-moco_resnet32_1xb64-400e_cifar10-lt-r100.py']

# view 1: RandomCrop(32, pad 4) + HFlip + AutoAugment CIFAR10Policy (the
# same 25 sub-policies, configs/ncl/_base_/cifar10_autoaugment_policy.py)
# + ClippedCutout(16)
ncl_view = [
    dict(type='BatchRandomCrop', crop_size=32, padding=4),
    dict(type='BatchRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='BatchAutoAugment', policies={{_base_.cifar10_policy}}),
    dict(type='BatchClippedCutout', length=16, pad_val=0, prob=1.),
]
# view 2 (EMA keys): MoCo-v2 style
moco_view = [
    dict(type='BatchRandomResizedCrop', scale=32, crop_ratio_range=(0.2, 1.)),
    dict(type='BatchColorJitter', brightness=0.4, contrast=0.4,
         saturation=0.4, hue=0.1, prob=0.8),
    dict(type='BatchRandomGrayscale', prob=0.2,
         channel_weights=(0.2989, 0.587, 0.114)),
    dict(type='BatchGaussianBlur', magnitude_range=(0.1, 2.0), prob=0.5),
    dict(type='BatchRandomFlip', prob=0.5, direction='horizontal'),
]
model = dict(
    data_preprocessor=dict(
        _delete_=True,
        type='BatchAugDataPreprocessor',
        mean=[0.4914 * 255, 0.4822 * 255, 0.4465 * 255],
        std=[0.2023 * 255, 0.1994 * 255, 0.2010 * 255],
        to_rgb=False,
        views=[ncl_view, moco_view]))
train_dataloader = dict(dataset=dict(pipeline=[dict(type='PackInputs')]))
