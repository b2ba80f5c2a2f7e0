"""Give ``dist/aigate.pyz`` (built by shiv) a fast start: its ``__main__.py`` is replaced by one that, once
shiv has unpacked the bundle (the first run, or whenever the folder is missing), imports aigate
straight from the unpacked folder, skipping shiv's bootstrap (which imports zipfile, hashlib,
compileall, shutil and pathlib on every run: most of the gap to an installed client on the warm
``aigate run`` path). The folder is the one shiv's bootstrap uses, ``~/.shiv/<file name>_<build id>/
site-packages``, put on ``sys.path`` where shiv puts it (before the first site-packages); with any
``SHIV_*`` variable set, or no folder yet, shiv's own bootstrap runs as before.

Usage (scripts/dist.sh): python packaging/pyz_fast_start.py dist/aigate.pyz
"""

from __future__ import annotations

import json
import os
import sys
import zipfile

MAIN = '''# -*- coding: utf-8 -*-
# aigate.pyz: shiv's bundle, with a fast start once shiv has unpacked it (packaging/pyz_fast_start.py).
import os
import sys


def _unpacked():
    if any(name.startswith("SHIV_") for name in os.environ):
        return None
    name = os.path.basename(os.path.realpath(sys.argv[0]))
    folder = os.path.join(os.path.expanduser("~/.shiv"), name + "_" + BUILD_ID, "site-packages")
    return folder if os.path.isdir(folder) else None


BUILD_ID = {build_id!r}
_site = _unpacked()
if _site is None:
    import _bootstrap

    _bootstrap.bootstrap()
else:
    _at = next((i for i, p in enumerate(sys.path) if os.path.basename(p) in ("site-packages", "dist-packages")),
               len(sys.path))
    sys.path.insert(_at, _site)
    from {module} import {function}

    sys.exit({function}())
'''


def rewrite(pyz: str) -> None:
    with open(pyz, "rb") as handle:
        data = handle.read()
    start = data.index(b"PK\x03\x04")  # after shiv's shebang line
    with zipfile.ZipFile(pyz) as old:
        env = json.loads(old.read("environment.json"))
        module, function = env["entry_point"].split(":")
        main = MAIN.format(build_id=env["build_id"], module=module, function=function)
        tmp = f"{pyz}.tmp"
        with open(tmp, "wb") as out:
            out.write(data[:start])
            with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as new:
                for info in old.infolist():
                    payload = main.encode() if info.filename == "__main__.py" else old.read(info)
                    new.writestr(info, payload)
    os.chmod(tmp, 0o755)
    os.replace(tmp, pyz)


if __name__ == "__main__":
    rewrite(sys.argv[1])
