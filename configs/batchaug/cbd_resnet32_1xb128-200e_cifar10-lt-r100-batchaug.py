# CBD stage 2 with ONE teacher, ResNet-32 student, CIFAR-10-LT ratio 100,
# as cbd_resnet32_1xb128-200e_cifar10-lt-r100.py (class-balanced
# resampling, CBDDistiller), with the student's train augmentation batched
# on the device: the dataset yields the uint8 images unchanged and the
# student's BatchAugDataPreprocessor draws RandomCrop(32, pad 4) + HFlip
# per sample on each batch (docs/batch_augment.md); the teachers see that
# augmented, normalised batch, as they see the per-sample one. Opt-in; the
# per-sample pipeline (configs/cbd/_base_/cbd_pipelines.py,
# cifar_train_pipeline) stays the reference.
#
# The teachers keep their per-sample stage-1 configs and checkpoints (the
# base's `teachers`): they are only run on the student's batch, and
# CBDDistiller checks at build time that their preprocessors normalise like
# the student's (mean 0 / std 255, to_rgb=False here, as in every CBD
# config). A teacher trained with a configs/batchaug/cbd-teacher*-batchaug
# config normalises the same way and passes that check too.
_base_ = [
    '../cbd/cbd_resnet32_1xb128-200e_cifar10-lt-r100.py',
    './_base_/crop_flip_view.py',
]

# the student's preprocessor: CBD's scaling kept (mean 0 / std 255,
# to_rgb=False), which the teachers' check compares; the top-level one too
data_preprocessor = dict(
    type='BatchAugDataPreprocessor', views=[{{_base_.crop_flip_view}}])
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = dict(dataset=dict(pipeline=[dict(type='PackInputs')]))
