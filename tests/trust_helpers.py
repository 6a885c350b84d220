"""A folder of CA certificates as `ssl_verify_upstream_trusted_confdir` takes it: OpenSSL's hashed
layout (`<subject hash>.0`), made by the real `openssl rehash`, as mitmproxy's help says to."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from peers import need


def ca_folder(folder: Path, *cas: Path) -> Path:
    """Copy the CA certificates (PEM files) into folder and hash it; returns folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, ca in enumerate(cas):
        shutil.copy(ca, folder / f"ca-{n}.pem")
    subprocess.run([need("openssl"), "rehash", str(folder)], check=True, capture_output=True)
    return folder
