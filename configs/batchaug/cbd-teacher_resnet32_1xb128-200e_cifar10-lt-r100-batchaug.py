# CBD stage 1, "vanilla" teacher, ResNet-32, CIFAR-10-LT ratio 100, as
# cbd-teacher_resnet32_1xb128-200e_cifar10-lt-r100.py, with the train
# augmentation batched on the device: the dataset yields the uint8 images
# unchanged and BatchAugDataPreprocessor draws RandomCrop(32, pad 4) +
# HFlip per sample on each batch (docs/batch_augment.md). Opt-in; the
# per-sample pipeline (configs/cbd/_base_/cbd_pipelines.py,
# cifar_train_pipeline) stays the reference.
_base_ = [
    '../cbd/cbd-teacher_resnet32_1xb128-200e_cifar10-lt-r100.py',
    './_base_/crop_flip_view.py',
]

# CBD's preprocessing is kept (num_classes, mean 0 / std 255, to_rgb=False);
# the model's preprocessor (set explicitly by the base) and the top-level
# one change alike.
data_preprocessor = dict(
    type='BatchAugDataPreprocessor', views=[{{_base_.crop_flip_view}}])
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = dict(dataset=dict(pipeline=[dict(type='PackInputs')]))
