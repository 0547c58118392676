# CBD stage 1, "data_aug" teacher, CIFAR-100-LT (ratio 100): the vanilla
# teacher recipe plus SimCLR colour distortion (strength 1.0, p 0.8) and
# random grayscale (p 0.2) after the crop and flip.
_base_ = ['./cbd-teacher_resnet32_1xb128-200e_cifar100-lt-r100.py']

train_dataloader = dict(
    dataset=dict(pipeline={{_base_.cifar_aug_train_pipeline}}))
