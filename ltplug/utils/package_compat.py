# Copyright (c) ltplug contributors. All rights reserved.
"""``pkg_resources``-free replacements for ``mmengine.utils.package_utils``.

MMEngine 0.10.7 resolves ``_base_ = 'mmpretrain::...'`` and
``Config.fromfile('mmpretrain::...')`` with ``pkg_resources``, which
setuptools >= 81 no longer ships. The functions here give the same answers
from :mod:`importlib.metadata` and :mod:`importlib.util`;
:func:`patch_mmengine_package_utils` installs them into MMEngine (a no-op
when ``pkg_resources`` is importable, so older setups keep their behaviour).
"""
import importlib.util
import os.path as osp
from importlib import metadata

__all__ = [
    'is_installed', 'get_installed_path', 'package2module',
    'patch_mmengine_package_utils', 'pkg_resources_missing'
]


def pkg_resources_missing() -> bool:
    """Whether ``pkg_resources`` cannot be imported (setuptools >= 81),
    i.e. MMEngine's package lookups fail (the stand-down probe of
    :mod:`ltplug.utils.compat`)."""
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        return True
    return False


def _distribution(package: str):
    try:
        return metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None


def package2module(package: str) -> str:
    """Infer the top-level module name of an installed distribution.

    Args:
        package (str): Distribution name, e.g. ``'mmcv-lite'``.

    Returns:
        str: The first entry of ``top_level.txt`` (or the package files).
    """
    dist = _distribution(package)
    if dist is None:
        raise ValueError(f'can not infer the module name of {package!r}: '
                         'it is not installed')
    top = dist.read_text('top_level.txt')
    if top:
        return top.split('\n')[0].strip()
    for f in dist.files or []:
        parts = f.parts
        if len(parts) > 1 and parts[-1] == '__init__.py':
            return parts[0]
    raise ValueError(f'can not infer the module name of {package!r}')


def is_installed(package: str) -> bool:
    """Whether ``package`` is installed or importable.

    Args:
        package (str): Distribution or module name.
    """
    if _distribution(package) is not None:
        return True
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin is not None


def get_installed_path(package: str) -> str:
    """Installed folder of ``package`` (distribution or module name).

    Args:
        package (str): e.g. ``'mmpretrain'``.

    Returns:
        str: The folder that holds the package's ``__init__.py``.
    """
    dist = _distribution(package)
    if dist is not None:
        base = str(dist.locate_file(''))
        possible = osp.join(base, package)
        if osp.exists(possible):
            return possible
        try:
            return osp.join(base, package2module(package))
        except ValueError:
            pass
    spec = importlib.util.find_spec(package)
    if spec is None:
        raise ModuleNotFoundError(f'package {package!r} is not installed')
    if spec.origin is None:
        raise RuntimeError(f'{package} is a namespace package, which is '
                           'invalid for `get_installed_path`')
    return osp.dirname(spec.origin)


def patch_mmengine_package_utils(force: bool = False) -> bool:
    """Install the functions above into MMEngine when needed.

    Args:
        force (bool): Patch even if ``pkg_resources`` is importable.
            Defaults to False.

    Returns:
        bool: Whether MMEngine was patched.
    """
    if not force and not pkg_resources_missing():
        return False
    import mmengine.config.config as config_mod
    import mmengine.utils as utils_mod
    import mmengine.utils.package_utils as pkg_mod
    for mod in (pkg_mod, utils_mod, config_mod):
        for name, fn in (('is_installed', is_installed),
                         ('get_installed_path', get_installed_path),
                         ('package2module', package2module)):
            if hasattr(mod, name):
                setattr(mod, name, fn)
    try:
        import mmengine.hub.hub as hub_mod
        hub_mod.get_installed_path = get_installed_path
    except ImportError:  # pragma: no cover
        pass
    return True
