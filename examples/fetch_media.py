"""Fetch the real sample clips the demo and benchmarks use, from Debian's ``opencv-doc`` package.

``box.mp4`` (a hand moving a box, 768x576) and ``vtest.avi`` (a street scene, 768x576) ship inside the
``opencv-doc`` .deb. ``apt-get download`` fetches the package from the Debian mirror (no root needed
for the download itself; nothing is installed) and the two files are extracted into ``data/media/``.
Nothing of them is committed to this repository.

    python examples/fetch_media.py [DEST]
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MEMBERS = {
    "box.mp4": "./usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz",
    "vtest.avi": "./usr/share/doc/opencv-doc/examples/data/vtest.avi",
}
DEFAULT_DEST = Path(__file__).resolve().parent.parent / "data" / "media"


def fetch_media(dest: str | Path = DEFAULT_DEST) -> dict[str, Path]:
    """Return ``{"box.mp4": path, "vtest.avi": path}``, downloading ``opencv-doc`` once if needed.

    Raises:
        RuntimeError: ``apt-get``/``dpkg-deb`` are unavailable or the download fails.
    """
    dest = Path(dest)
    paths = {name: dest / name for name in MEMBERS}
    if all(path.is_file() for path in paths.values()):
        return paths
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise RuntimeError("fetching the sample clips needs apt-get and dpkg-deb (Debian/Ubuntu)")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(["apt-get", "download", "opencv-doc"], cwd=tmp, capture_output=True, text=True)
        debs = list(Path(tmp).glob("opencv-doc_*.deb"))
        if result.returncode != 0 or not debs:
            raise RuntimeError(f"apt-get download opencv-doc failed: {result.stderr.strip()[-500:]}")
        tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(debs[0])], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp, *MEMBERS.values()], input=tar, check=True)
        for name, member in MEMBERS.items():
            source = Path(tmp) / member
            if source.suffix == ".gz":
                with gzip.open(source, "rb") as fin, open(paths[name], "wb") as fout:
                    shutil.copyfileobj(fin, fout)
            else:
                shutil.copyfile(source, paths[name])
    return paths


if __name__ == "__main__":
    for name, path in fetch_media(*sys.argv[1:]).items():
        print(f"{name}: {path} ({path.stat().st_size / 1e6:.1f} MB)")
