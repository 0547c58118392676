# SSD stage I, ResNet-32, CIFAR-10-LT ratio 100 (not reported by the paper;
# same recipe as CIFAR-100-LT). K = ssd_queue_size(12406, 128) = 12288.
_base_ = ['./ssd-stage1_resnet32_1xb128-200e_cifar100-lt-r100.py']

# CIFAR-10 statistics, as configs/_base_/datasets/cifar10_lt.py
data_preprocessor = dict(
    num_classes=10,
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255])
model = dict(
    head=dict(num_classes=10),
    queue_size=12288,
    data_preprocessor=dict(
        mean=[125.307, 122.961, 113.8575],
        std=[51.5865, 50.847, 51.255]))
train_dataloader = dict(
    dataset=dict(type='CIFAR10LT', data_root='data/cifar10'))
val_dataloader = dict(dataset=dict(type='CIFAR10LT', data_root='data/cifar10'))
test_dataloader = val_dataloader
