# SSD stage III (self-distillation), ResNet-32, CIFAR-100-LT ratio 50.
_base_ = ['./ssd-stage3-distill_resnet32_1xb128-200e_cifar100-lt-r100.py']

model = dict(
    # the previous stage (--cfg-options model.teachers.0.checkpoint=PATH)
    teachers=[dict(
        config='configs/ssd/ssd-stage2-lws_resnet32_1xb128-5e_'
        'cifar100-lt-r50.py',
        checkpoint='work_dirs/ssd-stage2-lws_resnet32_1xb128-5e_'
        'cifar100-lt-r50/epoch_5.pth')])
train_dataloader = dict(dataset=dict(imbalance_ratio=50.0))
val_dataloader = dict(dataset=dict(imbalance_ratio=50.0))
test_dataloader = val_dataloader
