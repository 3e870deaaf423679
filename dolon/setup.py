"""The C extension only; all metadata lives in pyproject.toml.

setuptools 66 (Debian 12) cannot declare ext_modules in pyproject.toml.
"""
import glob

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "dolon._core",
            sources=sorted(glob.glob("src/*.c")),
            depends=glob.glob("src/*.h"),
            extra_compile_args=["-std=gnu11", "-O2", "-Wall",
                                "-Wno-missing-field-initializers"],
            libraries=["dl"],
        )
    ],
)
