"""``import dyadsim``: the notebook API (:mod:`sim.api`) under the name the package is installed as."""

from importlib.metadata import PackageNotFoundError, version

from sim.api import *  # noqa: F403
from sim.api import __all__  # noqa: F401

try:
    __version__ = version("dyadsim")
except PackageNotFoundError:        # a checkout on sys.path without pip install
    __version__ = "0+unknown"
