# NCL + MoCo, 3 x ResNet-32, CIFAR-10-LT ratio 100, HCM_N = 3 (30% of the
# classes, our inference; the code has no CIFAR-10 config).
_base_ = ['./ncl-moco_resnet32_1xb64-400e_cifar100-lt-r100.py']

model = dict(head=dict(num_classes=10), loss=dict(hcm_n=3))
train_dataloader = dict(
    dataset=dict(type='CIFAR10LT', data_root='data/cifar10'))
val_dataloader = dict(
    dataset=dict(type='CIFAR10LT', data_root='data/cifar10'))
test_dataloader = val_dataloader
