"""Vendor GraphiQL's browser files into the product (``graphql_api/static/graphiql/``), from
pinned npm versions, so that neither the page nor CI needs a CDN or npm at run time.

``scripts/vendor_graphiql`` runs it: for each pinned package it runs ``npm pack`` (the
registry's tarball, no install scripts), checks the tarball against the pinned npm
``integrity`` (sha512, as ``package-lock.json`` records it), and copies only the files the page
loads, byte for byte, plus each package's licence. It then writes ``manifest.json``: versions,
integrities, licences, and each file's sha384 (the page's Subresource Integrity). The output
depends on the pins only, so re-vendoring the same pins changes nothing.

GraphiQL 3.x is the last line that ships a UMD bundle (``graphiql.min.js``, React and ReactDOM
18 as globals) that runs from plain files with no bundler; strawberry's own template uses
3.8.3. To upgrade, change a pin's version, set its integrity from ``npm view <pkg>@<version>
dist.integrity``, run the script, and run ``tests/graphiql``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "graphql_api" / "static" / "graphiql"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    integrity: str  # npm's dist.integrity of the tarball
    license: str
    files: dict[str, str]  # path in the tarball (under package/) -> name in TARGET


PINS = (
    Pin(
        "react",
        "18.3.1",
        "sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==",
        "MIT",
        {"umd/react.production.min.js": "react.production.min.js"},
    ),
    Pin(
        "react-dom",
        "18.3.1",
        "sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==",
        "MIT",
        {"umd/react-dom.production.min.js": "react-dom.production.min.js"},
    ),
    Pin(
        "graphiql",
        "3.8.3",
        "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
        "MIT",
        {"graphiql.min.js": "graphiql.min.js", "graphiql.min.css": "graphiql.min.css"},
    ),
)


class VendorError(Exception):
    pass


def sri_sha384(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def npm_integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def npm_pack(pin: Pin, into: Path) -> bytes:
    """The registry's tarball of ``pin``, checked against its pinned integrity."""
    spec = f"{pin.name}@{pin.version}"
    result = subprocess.run(
        ["npm", "pack", spec, "--json", "--ignore-scripts", "--pack-destination", str(into)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise VendorError(f"npm pack {spec} failed:\n{result.stderr.strip()}")
    (packed,) = json.loads(result.stdout)
    data = (into / packed["filename"]).read_bytes()
    found = npm_integrity(data)
    if found != pin.integrity:
        raise VendorError(f"{spec}: integrity {found} is not the pinned {pin.integrity}")
    return data


def _member(tarball: tarfile.TarFile, path: str) -> bytes:
    """One regular file of the tarball, read without extracting anything to disk."""
    member = tarball.getmember(f"package/{path}")
    extracted = tarball.extractfile(member) if member.isfile() else None
    if extracted is None:
        raise VendorError(f"package/{path} is not a regular file")
    return extracted.read()


def _license_name(pin: Pin) -> str:
    return f"LICENSE.{pin.name}.txt"


def vendor(target: Path = TARGET) -> dict[str, Any]:
    """Re-vendor every pin into ``target`` and return the manifest written beside them. Files
    of ours in ``target`` (the page's boot script and stylesheet) are left alone."""
    packages: list[dict[str, str]] = []
    files: dict[str, dict[str, Any]] = {}
    outputs: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="graphiql-vendor-") as tmp:
        for pin in PINS:
            data = npm_pack(pin, Path(tmp))
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tarball:
                for source, name in pin.files.items():
                    outputs[name] = _member(tarball, source)
                    files[name] = {
                        "package": pin.name,
                        "source": source,
                        "sha384": sri_sha384(outputs[name]),
                        "bytes": len(outputs[name]),
                    }
                outputs[_license_name(pin)] = _member(tarball, "LICENSE")
            packages.append(
                {
                    "name": pin.name,
                    "version": pin.version,
                    "integrity": pin.integrity,
                    "license": pin.license,
                    "license_file": _license_name(pin),
                }
            )
    manifest = {"packages": packages, "files": dict(sorted(files.items()))}
    target.mkdir(parents=True, exist_ok=True)
    for name, data in outputs.items():
        (target / name).write_bytes(data)
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    if shutil.which("npm") is None:
        print("npm is needed to re-vendor GraphiQL (not to serve it).", file=sys.stderr)
        return 2
    try:
        manifest = vendor()
    except VendorError as error:
        print(f"vendor_graphiql: {error}", file=sys.stderr)
        return 1
    total = sum(f["bytes"] for f in manifest["files"].values())
    print(f"vendored {len(manifest['files'])} files ({total:,} bytes) into {TARGET}")
    return 0
