"""Issue 17's "done when" for the logo: the README's exact `curl -F` command uploads a logo
to a clinic served by uvicorn, and the URL it answers serves the image without a token.

The command is read from the README's "Clinic logo" section and run by bash as written; only
its origin, ``http://clinica1.localhost:8000``, becomes the test server's clinic (curl
resolves ``*.localhost`` to loopback itself, as the README says)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator

import pytest

from tests.branding import images
from tests.branding.support import Site, objects_removed, signed_in_site
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

README_ORIGIN = "http://clinica1.localhost:8000"


def readme_logo_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Clinic logo", 1)[1]
    command = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert command is not None, "the README's Clinic logo section has no bash block"
    assert "curl" in command[1]
    assert "-F 0=@logo.png" in command[1]
    return command[1]


@pytest.fixture
def site(uvicorn_server, committed_clinic) -> Iterator[Site]:
    site = signed_in_site(uvicorn_server, committed_clinic("logo-readme"))
    objects_removed(site.clinic)
    yield site
    objects_removed(site.clinic)


def test_the_readmes_curl_command_uploads_a_logo_served_without_a_token(site, tmp_path):
    (tmp_path / "logo.png").write_bytes(images.png(1024, 512))
    origin = f"http://{site.host}:{site.server.port}"
    command = readme_logo_command().replace(README_ORIGIN, origin)

    done = subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "TOKEN": site.token},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    logo = json.loads(done.stdout)["data"]["uploadClinicLogo"]
    assert logo["__typename"] == "ClinicLogo", logo
    assert (logo["width"], logo["height"]) == (512, 256)
    assert logo["url"].startswith(f"{origin}/logo/")

    fetched = subprocess.run(
        ["curl", "-s", "-D", "headers.txt", "-o", "fetched.png", logo["url"]],
        cwd=tmp_path, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    headers = (tmp_path / "headers.txt").read_text().lower()
    assert headers.startswith("http/1.1 200")
    assert "content-type: image/png" in headers
    assert "cache-control: public, max-age=31536000, immutable" in headers
    image = images.opened((tmp_path / "fetched.png").read_bytes())
    assert (image.format, image.size) == ("PNG", (512, 256))
