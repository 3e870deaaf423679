"""The C extension only; all metadata lives in pyproject.toml.

setuptools 66 (Debian 12) cannot declare ext_modules in pyproject.toml.
"""
import glob

from setuptools import Extension, setup
from setuptools.command.install import install


class Install(install):
    """Debian's setuptools reads two options, install_layout and
    prefix_option, that only Debian's own distutils defines.  `make wheels`
    lends Debian's setuptools to the other Pythons of the machine (offline,
    nothing else is there), whose distutils lack them: default them.  Any
    other setuptools never reads them."""

    install_layout = None
    prefix_option = None


setup(
    cmdclass={"install": Install},
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
