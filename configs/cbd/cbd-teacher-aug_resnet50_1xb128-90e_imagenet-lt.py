# CBD stage 1, "data_aug" teacher, ImageNet-LT (official
# configs/stage_one_data_aug_seed{1,2}.py): the vanilla teacher recipe plus
# SimCLR colour distortion (strength 1.0, p 0.8) and random grayscale
# (p 0.2) after the crop and flip.
_base_ = ['./cbd-teacher_resnet50_1xb128-90e_imagenet-lt.py']

train_dataloader = dict(
    dataset=dict(pipeline={{_base_.imagenet_aug_train_pipeline}}))
