# SSD stage III (self-distillation), ResNet-32, CIFAR-10-LT ratio 100.
_base_ = ['./ssd-stage3-distill_resnet32_1xb128-200e_cifar100-lt-r100.py']

# CIFAR-10 statistics, as configs/_base_/datasets/cifar10_lt.py
data_preprocessor = dict(
    num_classes=10,
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255])
model = dict(
    head=dict(num_classes=10),
    # the previous stage (--cfg-options model.teachers.0.checkpoint=PATH)
    teachers=[dict(
        config='configs/ssd/ssd-stage2-lws_resnet32_1xb128-5e_'
        'cifar10-lt-r100.py',
        checkpoint='work_dirs/ssd-stage2-lws_resnet32_1xb128-5e_'
        'cifar10-lt-r100/epoch_5.pth')])
train_dataloader = dict(
    dataset=dict(type='CIFAR10LT', data_root='data/cifar10'))
val_dataloader = dict(dataset=dict(type='CIFAR10LT', data_root='data/cifar10'))
test_dataloader = val_dataloader
