# CBD stage 1, "data_aug" teacher, iNaturalist 2018 (the official
# stage_one_data_aug recipe with the iNat18 settings): the vanilla teacher
# recipe plus SimCLR colour distortion (strength 1.0, p 0.8) and random
# grayscale (p 0.2) after the crop and flip.
_base_ = ['./cbd-teacher_resnet50_1xb128-200e_inat2018.py']

train_dataloader = dict(
    dataset=dict(pipeline={{_base_.imagenet_aug_train_pipeline}}))
