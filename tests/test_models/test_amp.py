# Copyright (c) ltplug contributors. All rights reserved.
"""Mixed precision (``tools/train.py --amp``) on CPU, with bf16.

MMEngine 0.10.7's ``AmpOptimWrapper.__init__`` asserts that CUDA (or an
NPU/MLU/MUSA) is available, although everything it does also works on a
CPU: ``optim_context`` enters MMEngine's ``autocast``, which on a CPU is
``torch.autocast('cpu', dtype=torch.bfloat16)``, and its
``torch.cuda.amp.GradScaler`` disables itself without CUDA (bf16 needs no
loss scaling). On a machine without CUDA the ``cpu_amp`` fixture patches
that one availability check (``is_cuda_available`` in MMEngine's
``amp_optimizer_wrapper`` module) and nothing else, so the wrapper the
configs ask for is the one that runs here;
``test_amp_optim_wrapper_asserts_cuda`` records the check.

Every method's ``train_step`` is run twice from the same weights and batch:
with ``OptimWrapper`` (fp32) and with ``AmpOptimWrapper(dtype='bfloat16')``.
The bf16 step must really run in bf16 (every convolution's output is
bf16), return an fp32 loss, and agree with the fp32 step (loss values
within 5%, parameter update in the same direction). The CIFAR configs of
every method are then turned into AMP configs with ``tools/train.py``'s own
``merge_args`` and their optimizer wrappers built and stepped once.
"""
import copy
import importlib.util
import os.path as osp

import mmengine.optim.optimizer.amp_optimizer_wrapper as amp_wrapper_module
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper, build_optim_wrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from tests.helpers import ROOT

NUM_CLASSES = 5
# a class with more images than fp16 can count (65504)
COUNTS = [100000, 2000, 300, 40, 5]
WIDTH = 32
BACKBONE = dict(type='CIFARResNet', depth=20, base_channels=8,
                stem_channels=8)
GAP = dict(type='GlobalAveragePooling')
MEAN, STD = [125.3, 123.0, 113.9], [63.0, 62.1, 66.7]
PREPROC = dict(type='ClsDataPreprocessor', mean=MEAN, std=STD,
               num_classes=NUM_CLASSES)
TWO_VIEW_PREPROC = dict(type='SelfSupDataPreprocessor', mean=MEAN, std=STD)
RTOL = 5e-2  # bf16 vs fp32 loss values

# the expected consequence of running AmpOptimWrapper without CUDA
pytestmark = pytest.mark.filterwarnings(
    'ignore:torch.cuda.amp.GradScaler is enabled, but CUDA is not '
    'available:UserWarning')


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Two threads on this shared 2-core machine are ~5x slower than one."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def cpu_amp(monkeypatch):
    """Let ``AmpOptimWrapper`` be built on a machine without CUDA (see the
    module docstring); a no-op where CUDA is available."""
    if not torch.cuda.is_available():
        monkeypatch.setattr(amp_wrapper_module, 'is_cuda_available',
                            lambda: True)


@pytest.mark.skipif(torch.cuda.is_available(), reason='CUDA is available')
def test_amp_optim_wrapper_asserts_cuda():
    """Why ``cpu_amp`` exists: unpatched, MMEngine refuses a CPU."""
    p = torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(AssertionError, match='only available training on'):
        AmpOptimWrapper(optimizer=torch.optim.SGD([p], lr=0.1),
                        dtype='bfloat16')


@pytest.mark.skipif(torch.cuda.is_available(), reason='CUDA is available')
def test_patched_wrapper_is_bf16_autocast_without_loss_scaling(cpu_amp):
    p = torch.nn.Parameter(torch.ones(4, 4))
    optim = AmpOptimWrapper(optimizer=torch.optim.SGD([p], lr=0.1),
                            dtype='bfloat16')
    assert optim.cast_dtype == torch.bfloat16
    assert not optim.loss_scaler.is_enabled()  # no CUDA: scaler disabled
    with optim.optim_context(torch.nn.Linear(1, 1)):
        assert torch.is_autocast_enabled('cpu')
        assert torch.get_autocast_dtype('cpu') == torch.bfloat16
        assert (p @ p).dtype == torch.bfloat16


# ------------------------------------------------------------------ models
def linear_head(loss=dict(type='CrossEntropyLoss'), kind='LinearClsHead'):
    return dict(type=kind, num_classes=NUM_CLASSES, in_channels=WIDTH,
                loss=loss)


def image_classifier(head, **backbone):
    return dict(type='ImageClassifier', backbone=dict(BACKBONE, **backbone),
                neck=GAP, head=head, data_preprocessor=PREPROC)


SSD_STAGE2 = dict(
    type='SSDLWSClassifier', backbone=BACKBONE, neck=GAP,
    head=dict(type='LWSHead', num_classes=NUM_CLASSES, in_channels=WIDTH),
    data_preprocessor=PREPROC, init_checkpoint=None)
CBD_TEACHER = image_classifier(
    dict(type='CosineClsHead', num_classes=NUM_CLASSES, in_channels=WIDTH,
         scale=20., loss=dict(type='CrossEntropyLoss')))
NCL = dict(
    type='NCLMultiExpertClassifier', num_experts=2, backbone=BACKBONE,
    neck=GAP,
    head=dict(type='LinearClsHead', num_classes=NUM_CLASSES,
              in_channels=WIDTH),
    loss=dict(type='NCLLoss', hcm_n=3, class_counts=COUNTS),
    data_preprocessor=PREPROC)


@pytest.fixture(scope='module')
def teacher_ckpts(tmp_path_factory):
    """Freshly initialised SSD stage-II and CBD teachers, saved."""
    folder = tmp_path_factory.mktemp('amp_teachers')
    paths = {}
    for seed, (name, cfg) in enumerate((('ssd', SSD_STAGE2),
                                        ('cbd', CBD_TEACHER))):
        torch.manual_seed(seed + 1)
        model = MODELS.build(copy.deepcopy(cfg))
        model.init_weights()
        paths[name] = str(folder / f'{name}.pth')
        torch.save(dict(state_dict=model.state_dict()), paths[name])
    return paths


def method_cfg(name, ckpts):
    """A tiny model of each method (CIFAR ResNet-20 at width 8)."""
    if name == 'ce':
        return image_classifier(linear_head())
    if name == 'balanced_softmax':
        return image_classifier(linear_head(
            dict(type='BalancedSoftmaxLoss', class_counts=COUNTS)))
    if name == 'crt':  # frozen backbone, new linear classifier
        return image_classifier(linear_head(), frozen_stages=3)
    if name == 'lws':
        return image_classifier(linear_head(kind='LWSHead'),
                                frozen_stages=3)
    if name == 'tau_norm':
        return image_classifier(linear_head(kind='TauNormClsHead'))
    if name == 'ssd_stage1':
        return dict(type='SSDMoCoClassifier', backbone=BACKBONE, neck=GAP,
                    head=linear_head(), queue_size=16, proj_dim=8,
                    momentum=0.9, data_preprocessor=TWO_VIEW_PREPROC)
    if name == 'ssd_stage2':
        return copy.deepcopy(SSD_STAGE2)
    if name == 'ssd_stage3':
        return dict(type='SSDDistiller', backbone=BACKBONE, neck=GAP,
                    head=linear_head(),
                    teachers=[dict(config=copy.deepcopy(SSD_STAGE2),
                                   checkpoint=ckpts['ssd'])],
                    data_preprocessor=PREPROC)
    if name == 'cbd':
        return dict(
            type='CBDDistiller', backbone=BACKBONE,
            neck=dict(type='LinearNeck', in_channels=WIDTH,
                      out_channels=WIDTH, gap_dim=2, norm_cfg=None,
                      act_cfg=dict(type='ReLU')),
            head=CBD_TEACHER['head'],
            teachers=[dict(config=copy.deepcopy(CBD_TEACHER),
                           checkpoint=ckpts['cbd'], name='t0')],
            data_preprocessor=PREPROC)
    if name == 'ncl':
        return copy.deepcopy(NCL)
    if name == 'ncl_moco':
        return dict(copy.deepcopy(NCL), data_preprocessor=TWO_VIEW_PREPROC,
                    moco=dict(queue_size=16, dim=8, temperature=0.2,
                              momentum=0.9))
    raise KeyError(name)


METHODS = ['ce', 'balanced_softmax', 'crt', 'lws', 'tau_norm', 'ssd_stage1',
           'ssd_stage2', 'ssd_stage3', 'cbd', 'ncl', 'ncl_moco']


def batch(two_views, num=8, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)

    def images():
        return torch.randint(0, 256, (num, 3, size, size), generator=g,
                             dtype=torch.uint8)

    samples = [DataSample().set_gt_label(i % NUM_CLASSES)
               for i in range(num)]
    if two_views:  # default_collate of MultiView + PackInputs
        return dict(inputs=[images(), images()], data_samples=samples)
    return dict(inputs=list(images()), data_samples=samples)


def uses_two_views(model) -> bool:
    return type(model.data_preprocessor).__name__ == \
        'SelfSupDataPreprocessor'


def step(model, optim_wrapper, data):
    """One ``train_step``; returns the log vars, the dtypes of every
    convolution output and the parameter update."""
    dtypes = set()
    hooks = [
        m.register_forward_hook(lambda m, a, out: dtypes.add(out.dtype))
        for m in model.modules() if isinstance(m, torch.nn.Conv2d)
    ]
    before = [p.detach().clone() for p in model.parameters()]
    torch.manual_seed(0)  # batch-shuffle BN draws the same permutation
    try:
        log_vars = model.train_step(data, optim_wrapper)
    finally:
        for h in hooks:
            h.remove()
    update = torch.cat([(p.detach() - b).flatten()
                        for p, b in zip(model.parameters(), before)])
    return log_vars, dtypes, update


@pytest.mark.parametrize('name', METHODS)
def test_bf16_train_step_matches_fp32(name, teacher_ckpts, cpu_amp):
    torch.manual_seed(0)
    model = MODELS.build(method_cfg(name, teacher_ckpts))
    model.init_weights()
    model.train()
    amp_model = copy.deepcopy(model)
    data = batch(uses_two_views(model))
    sgd = dict(type='SGD', lr=0.01, momentum=0.9)
    fp32 = build_optim_wrapper(model, dict(type='OptimWrapper',
                                           optimizer=sgd))
    amp = build_optim_wrapper(
        amp_model, dict(type='AmpOptimWrapper', dtype='bfloat16',
                        optimizer=sgd))
    ref_logs, ref_dtypes, ref_update = step(model, fp32, copy.deepcopy(data))
    logs, dtypes, update = step(amp_model, amp, copy.deepcopy(data))

    assert ref_dtypes == {torch.float32}
    assert dtypes == {torch.bfloat16}  # autocast was on
    assert logs['loss'].dtype == torch.float32  # the loss is kept in fp32
    assert set(logs) == set(ref_logs)
    for key, ref in ref_logs.items():
        value, ref = float(logs[key].detach()), float(ref.detach())
        assert abs(value - ref) <= RTOL * abs(ref) + 1e-4, (key, value, ref)
    # fp32 master weights, finite, moved like the fp32 step
    assert all(p.dtype == torch.float32 for p in amp_model.parameters())
    assert torch.isfinite(update).all()
    assert ref_update.norm() > 0
    cos = torch.nn.functional.cosine_similarity(update, ref_update, dim=0)
    assert cos > 0.9, float(cos)
    assert abs(float(update.norm() / ref_update.norm()) - 1) < 0.1


# ----------------------------------------------------------------- configs
CONFIGS = [
    'ce/ce_resnet32_1xb128-200e_cifar10-lt-r100.py',
    'balanced_softmax/balanced-softmax_resnet32_1xb128-200e_cifar10-lt-r100'
    '.py',
    'decoupling/crt_resnet32_1xb128-10e_cifar10-lt-r100.py',
    'decoupling/lws_resnet32_1xb128-10e_cifar10-lt-r100.py',
    'ssd/ssd-stage1_resnet32_1xb128-200e_cifar10-lt-r100.py',
    'ssd/ssd-stage2-lws_resnet32_1xb128-5e_cifar10-lt-r100.py',
    'ssd/ssd-stage3-distill_resnet32_1xb128-200e_cifar10-lt-r100.py',
    'cbd/cbd_resnet32_1xb128-200e_cifar10-lt-r100.py',
    'ncl/ncl_resnet32_1xb64-400e_cifar10-lt-r100.py',
    'ncl/ncl-moco_resnet32_1xb64-400e_cifar10-lt-r100.py',
]


@pytest.fixture(scope='module')
def train_tool():
    """``tools/train.py`` as a module (its ``parse_args`` / ``merge_args``
    apply ``--amp`` and ``--cfg-options``)."""
    spec = importlib.util.spec_from_file_location(
        'ltplug_train_tool', osp.join(ROOT, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def amp_config(train_tool, monkeypatch, work_dir, rel_path, *extra):
    monkeypatch.setenv('LOCAL_RANK', '0')  # parse_args exports it if unset
    path = osp.join(ROOT, 'configs', rel_path)
    args = train_tool.parse_args(
        [path, '--amp', '--work-dir', str(work_dir), *extra])
    return train_tool.merge_args(Config.fromfile(path), args)


def model_cfg(cfg, tmp_path):
    """``cfg.model`` as the Runner builds it (top-level preprocessor), with
    freshly initialised teachers saved where a distiller needs them."""
    model = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor', cfg.data_preprocessor)
    specs = model.get('teachers') or ([model.teacher]
                                      if model.get('teacher') else [])
    for k, spec in enumerate(specs):
        tcfg = Config.fromfile(osp.join(ROOT, spec.config))
        teacher = copy.deepcopy(tcfg.model)
        if tcfg.get('data_preprocessor') is not None:
            teacher.setdefault('data_preprocessor', tcfg.data_preprocessor)
        torch.manual_seed(k)
        built = MODELS.build(teacher)
        spec.checkpoint = str(tmp_path / f'teacher{k}.pth')
        torch.save(dict(state_dict=built.state_dict()), spec.checkpoint)
    return model


def test_amp_flag_alone_leaves_the_dtype_to_mmengine(train_tool, monkeypatch,
                                                     tmp_path, cpu_amp):
    """``--amp`` sets the wrapper type and dynamic loss scaling only: the
    autocast dtype stays unset (fp16 on CUDA, bf16 under CPU autocast)."""
    cfg = amp_config(train_tool, monkeypatch, tmp_path, CONFIGS[0])
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert 'dtype' not in cfg.optim_wrapper
    model = MODELS.build(model_cfg(cfg, tmp_path))
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    assert isinstance(optim, AmpOptimWrapper) and optim.cast_dtype is None


@pytest.mark.parametrize('rel_path', CONFIGS)
def test_config_builds_and_steps_with_amp_optim_wrapper(
        rel_path, train_tool, monkeypatch, tmp_path, cpu_amp):
    cfg = amp_config(train_tool, monkeypatch, tmp_path, rel_path,
                     '--cfg-options', 'optim_wrapper.dtype=bfloat16')
    plain = Config.fromfile(osp.join(ROOT, 'configs', rel_path))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    # the rest of the optimizer settings is untouched
    assert cfg.optim_wrapper.optimizer == plain.optim_wrapper.optimizer
    assert cfg.optim_wrapper.get('paramwise_cfg') == \
        plain.optim_wrapper.get('paramwise_cfg')

    monkeypatch.chdir(ROOT)  # teacher configs are named from the root
    model = MODELS.build(model_cfg(cfg, tmp_path))
    for module in model.modules():  # what ClassCountsHook does
        if callable(getattr(module, 'set_class_counts', None)):
            module.set_class_counts([100000] + [50] * 9)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    assert isinstance(optim, AmpOptimWrapper)
    assert optim.cast_dtype == torch.bfloat16
    in_optim = {id(p) for g in optim.optimizer.param_groups
                for p in g['params']}
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert trainable and all(id(p) in in_optim for p in trainable)

    model.train()
    data = batch(uses_two_views(model), num=2, size=32)
    for ds in data['data_samples']:
        ds.set_gt_label(int(ds.gt_label) * 2)  # 10 classes
    logs, dtypes, update = step(model, optim, data)
    assert dtypes == {torch.bfloat16}
    assert logs['loss'].dtype == torch.float32
    assert all(torch.isfinite(v).all() for v in logs.values())
    assert torch.isfinite(update).all() and update.abs().sum() > 0
