# NCL, 3 x ResNet-32, CIFAR-10-LT ratio 100, no MoCo, as
# ncl_resnet32_1xb64-400e_cifar10-lt-r100.py, with the train view drawn per
# sample on each batch on the device by BatchAugDataPreprocessor (the
# dataset yields the uint8 images unchanged; docs/batch_augment.md).
# Opt-in; the per-sample pipeline stays the reference.
_base_ = ['../ncl/ncl_resnet32_1xb64-400e_cifar10-lt-r100.py']

# RandomCrop(32, pad 4) + HFlip + AutoAugment CIFAR10Policy (the same 25
# sub-policies, configs/ncl/_base_/cifar10_autoaugment_policy.py) +
# ClippedCutout(16)
ncl_view = [
    dict(type='BatchRandomCrop', crop_size=32, padding=4),
    dict(type='BatchRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='BatchAutoAugment', policies={{_base_.cifar10_policy}}),
    dict(type='BatchClippedCutout', length=16, pad_val=0, prob=1.),
]
# the reference's ClsDataPreprocessor settings (num_classes, NCL's CIFAR
# mean / std, to_rgb=False) are kept; only the type and the view change
model = dict(
    data_preprocessor=dict(type='BatchAugDataPreprocessor', views=[ncl_view]))
train_dataloader = dict(dataset=dict(pipeline=[dict(type='PackInputs')]))
