# The batched pad-4 RandomCrop + horizontal flip view of the CIFAR recipes
# (BatchAugDataPreprocessor ``views``; docs/batch_augment.md).
crop_flip_view = [
    dict(type='BatchRandomCrop', crop_size=32, padding=4),
    dict(type='BatchRandomFlip', prob=0.5, direction='horizontal'),
]
