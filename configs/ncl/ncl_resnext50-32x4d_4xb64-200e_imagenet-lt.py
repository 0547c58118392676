# NCL, 3 x ResNeXt-50 (32x4d), ImageNet-LT. The released code has no
# ResNeXt; the paper reports this backbone. Same recipe as the ResNet-50
# config.
_base_ = ['./ncl_resnet50_4xb64-200e_imagenet-lt.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNeXt',
        depth=50,
        groups=32,
        width_per_group=4,
        # PyTorch's default init, as the ResNet-50 config
        zero_init_residual=False,
        init_cfg=None))
