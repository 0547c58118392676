# CBD stage 1, "vanilla" teacher, ResNet-32, CIFAR-10-LT ratio 100, as
# cbd-teacher_resnet32_1xb128-200e_cifar10-lt-r100.py, with the train
# augmentation batched on the device: the dataset yields the uint8 images
# unchanged and BatchAugDataPreprocessor draws RandomCrop(32, pad 4) +
# HFlip per sample on each batch (docs/batch_augment.md). Opt-in; the
# per-sample pipeline (configs/cbd/_base_/cbd_pipelines.py,
# cifar_train_pipeline) stays the reference.
_base_ = ['../cbd/cbd-teacher_resnet32_1xb128-200e_cifar10-lt-r100.py']

crop_flip_view = [
    dict(type='BatchRandomCrop', crop_size=32, padding=4),
    dict(type='BatchRandomFlip', prob=0.5, direction='horizontal'),
]
# CBD's preprocessing is kept (num_classes, mean 0 / std 255: pixels only
# scaled to [0, 1], to_rgb=False: the CIFAR arrays are RGB); only the type
# and the view change. The base sets the model's preprocessor explicitly,
# so the top-level one (which the Runner would only use as a default) is
# changed too, to keep the two the same.
data_preprocessor = dict(
    type='BatchAugDataPreprocessor', views=[crop_flip_view])
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = dict(dataset=dict(pipeline=[dict(type='PackInputs')]))
