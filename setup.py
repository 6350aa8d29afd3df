"""Build script: the package metadata lives in pyproject.toml; this file adds the optional
pybind11 extension ``tinygan._C`` built from csrc/cpu/*.cpp (C++ CPU kernels, OpenMP).

The extension is optional: with no C++ sources, no compiler or a failed build, the install still
succeeds and the "cpp" backend reports itself unavailable with the reason.
"""
import glob
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

SOURCES = sorted(glob.glob(os.path.join("csrc", "cpu", "*.cpp")))


class OptionalBuildExt(build_ext):
    """Build extensions but never fail the install because of them."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 -- any compiler problem makes the backend optional
            print(f"tinygan: skipping the C++ extension ({exc})", file=sys.stderr)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            print(f"tinygan: could not build {ext.name} ({exc}); the cpp backend will be unavailable",
                  file=sys.stderr)


def extensions():
    if not SOURCES or os.environ.get("TINYGAN_NO_EXTENSION"):
        return []
    try:
        from pybind11.setup_helpers import Pybind11Extension
    except ImportError:
        return []
    flags = ["-O3", "-fopenmp", os.environ.get("TINYGAN_ARCH_FLAG", "-march=native")]
    return [Pybind11Extension("tinygan._C", SOURCES, extra_compile_args=flags,
                              extra_link_args=["-fopenmp"], cxx_std=17)]


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
