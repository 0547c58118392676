# Balanced Softmax ResNet-32 on CIFAR-10-LT ratio 100, as
# balanced-softmax_resnet32_1xb128-200e_cifar10-lt-r100.py, with the train
# augmentation batched on the device: the dataset yields the uint8 images
# unchanged and BatchAugDataPreprocessor draws RandomCrop(32, pad 4) +
# HFlip per sample on each batch (docs/batch_augment.md). Opt-in; the
# per-sample pipeline stays the reference.
_base_ = [
    '../balanced_softmax/'
    'balanced-softmax_resnet32_1xb128-200e_cifar10-lt-r100.py'
]

data_preprocessor = dict(
    type='BatchAugDataPreprocessor',
    views=[[
        dict(type='BatchRandomCrop', crop_size=32, padding=4),
        dict(type='BatchRandomFlip', prob=0.5, direction='horizontal'),
    ]])
train_dataloader = dict(dataset=dict(pipeline=[dict(type='PackInputs')]))
