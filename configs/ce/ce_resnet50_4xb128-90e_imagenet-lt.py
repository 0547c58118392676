# Cross-entropy (instance-balanced, "joint") ResNet-50 on ImageNet-LT: the
# decoupling stage-one recipe of the ResNeXt-50 config (90 epochs, 4 GPUs x
# 128 = 512 images, SGD lr 0.2, wd 5e-4, cosine; RandomResizedCrop 224 +
# flip + ColorJitter 0.4) with a ResNet-50 backbone, trained from scratch.
_base_ = ['./ce_resnext50-32x4d_4xb128-90e_imagenet-lt.py']

model = dict(
    backbone=dict(
        _delete_=True, type='ResNet', depth=50, num_stages=4,
        out_indices=(3, ), style='pytorch'))
auto_scale_lr = dict(base_batch_size=512)
