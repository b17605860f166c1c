"""p2pdist: a Salt extension that distributes files peer-to-peer with libtorrent.

The Salt loader modules live at the top of the repository (``_modules``,
``_states``, ``_runners``, ``_returners``) so they can also be synced through
file_roots; installed with pip they ship inside the package and Salt finds
them through the ``salt.loader`` entry point.
"""

from setuptools import find_packages, setup

LOADER_DIRS = {"modules": "_modules", "states": "_states", "runners": "_runners",
               "returners": "_returners", "beacons": "_beacons"}

setup(
    name="salt-p2pdist",
    version="0.1.0",
    description="Peer-to-peer file distribution for Salt, built on libtorrent",
    python_requires=">=3.10",
    packages=find_packages(include=["salt_p2pdist", "salt_p2pdist.*"])
    + [f"salt_p2pdist.loader.{kind}" for kind in LOADER_DIRS],
    package_dir={f"salt_p2pdist.loader.{kind}": d for kind, d in LOADER_DIRS.items()},
    install_requires=["salt>=3006", "libtorrent>=2.0.9", "pyyaml>=6.0"],
    entry_points={"salt.loader": ["p2pdist = salt_p2pdist.loader_dirs:get_dirs"]},
)
