# CBD stage 1, "data_aug" teacher, ResNet-32, CIFAR-10-LT ratio 100, as
# cbd-teacher-aug_resnet32_1xb128-200e_cifar10-lt-r100.py, with the train
# augmentation batched on the device: the dataset yields the uint8 images
# unchanged and BatchAugDataPreprocessor draws, per sample on each batch,
# RandomCrop(32, pad 4) + HFlip and the SimCLR colour distortion
# (docs/batch_augment.md). Opt-in; the per-sample pipeline
# (configs/cbd/_base_/cbd_pipelines.py, cifar_aug_train_pipeline) stays
# the reference.
_base_ = ['../cbd/cbd-teacher-aug_resnet32_1xb128-200e_cifar10-lt-r100.py']

# crop + flip, then cifar_aug_train_pipeline's simclr_colour_rgb:
# ApplyInBGR(RandomApply(ColorJitter(0.8, 0.8, 0.8, 0.2), p 0.8)) on the
# RGB arrays is BatchColorJitter(..., prob=0.8) on the RGB batch (it models
# MMPretrain's pillow ColorJitter as ApplyInBGR runs it); RandomGrayscale
# p 0.2 with the RGB luma weights (the batch is RGB: to_rgb=False)
aug_view = [
    dict(type='BatchRandomCrop', crop_size=32, padding=4),
    dict(type='BatchRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='BatchColorJitter', brightness=0.8, contrast=0.8,
         saturation=0.8, hue=0.2, prob=0.8),
    dict(type='BatchRandomGrayscale', prob=0.2,
         channel_weights=(0.2989, 0.587, 0.114)),
]
# CBD's preprocessing is kept (num_classes, mean 0 / std 255, to_rgb=False);
# only the type and the view change, in the model's preprocessor (which the
# base sets explicitly) and the top-level one alike.
data_preprocessor = dict(type='BatchAugDataPreprocessor', views=[aug_view])
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = dict(dataset=dict(pipeline=[dict(type='PackInputs')]))
