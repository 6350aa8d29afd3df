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
HEADERS = sorted(glob.glob(os.path.join("csrc", "cpu", "*.hpp")))
# TINYGAN_ARCH_FLAG may hold several flags ("-mavx2 -mfma"); "" builds the portable code path.
ARCH_FALLBACKS = [os.environ.get("TINYGAN_ARCH_FLAG", "-march=native").split(), ["-mavx2", "-mfma"], []]


class OptionalBuildExt(build_ext):
    """Build extensions but never fail the install because of them."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 -- any compiler problem makes the backend optional
            print(f"tinygan: skipping the C++ extension ({exc})", file=sys.stderr)

    def build_extension(self, ext):
        # The architecture flag (default -march=native) is tried first, then AVX2+FMA, then none:
        # the kernels have AVX-512, AVX2 and portable code paths (#ifdef __AVX512F__ / __AVX2__).
        base = list(ext.extra_compile_args)
        tried = []
        for arch in ARCH_FALLBACKS:
            if arch in tried:
                continue
            tried.append(arch)
            ext.extra_compile_args = base + arch
            try:
                super().build_extension(ext)
                return
            except Exception as exc:  # noqa: BLE001
                print(f"tinygan: building {ext.name} with {' '.join(arch) or 'no arch flag'} failed ({exc})",
                      file=sys.stderr)
                self.force = True  # recompile every object with the next flags, never mix ISAs
        print(f"tinygan: could not build {ext.name}; the cpp backend will be unavailable", file=sys.stderr)


def extensions():
    if not SOURCES or os.environ.get("TINYGAN_NO_EXTENSION"):
        return []
    try:
        from pybind11.setup_helpers import Pybind11Extension
    except ImportError:
        return []
    flags = ["-O3", "-fopenmp"]  # + the architecture flag, see OptionalBuildExt.build_extension
    return [Pybind11Extension("tinygan._C", SOURCES, depends=HEADERS, extra_compile_args=flags,
                              extra_link_args=["-fopenmp"], cxx_std=17)]


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
