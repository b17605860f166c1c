"""Where Salt's loader finds p2pdist's modules (the ``salt.loader`` entry point)."""

from __future__ import annotations

from pathlib import Path

KINDS = ("modules", "states", "runners", "returners", "beacons")


def get_dirs() -> dict[str, list[str]]:
    here = Path(__file__).resolve().parent
    out = {}
    for kind in KINDS:
        installed = here / "loader" / kind  # pip install: shipped inside the package
        checkout = here.parent / f"_{kind}"  # editable install or a source checkout
        out[kind] = [str(installed if installed.is_dir() else checkout)]
    return out
