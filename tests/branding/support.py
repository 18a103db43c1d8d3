"""What the logo's HTTP tests share: a committed clinic with its admin signed in, the
upload as a GraphQL multipart request, and the clinic's state (rows, trail, stored objects)
to prove that a refusal left nothing behind."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings

from backend.audit.models import AuditEvent
from backend.branding.models import ClinicLogo
from backend.core.tenancy import clinic_context
from backend.files.models import StoredFile
from tenants_core.models import Clinic
from tests.conftest import LiveServer, http_login
from tests.files.multipart import FileSpec, upload_http

UPLOAD = """mutation($file: Upload!) { uploadClinicLogo(file: $file) {
  __typename
  ... on ClinicLogo { url width height sizes { size url width height } }
  ... on OperationInfo { messages { code field message } }
} }"""
REMOVE = """mutation { removeClinicLogo {
  __typename
  ... on Clinic { logo { url } }
  ... on OperationInfo { messages { code field message } }
} }"""
ADMIN = "<the admin's token>"  # upload's default caller
CURRENT = "{ currentClinic { name logo { url width height sizes { size url width height } } } }"


@dataclass
class Site:
    """A committed clinic served by uvicorn, with its admin's token."""

    server: LiveServer
    clinic: Clinic
    token: str

    @property
    def host(self) -> str:
        return f"{self.clinic.subdomain}.{settings.BASE_DOMAIN}"

    def graphql(self, query: str, *, token: str | None = None, host: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.server.post(host or self.host, {"query": query}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def upload(
        self,
        content: bytes | None,
        *,
        filename: str = "logo.png",
        content_type: str = "image/png",
        token: str | None = ADMIN,
        host: str | None = None,
        raw_map: Any = None,
        raw_files: list[tuple[str, FileSpec]] | None = None,
    ) -> httpx.Response:
        """``uploadClinicLogo`` as a GraphQL multipart request: ``content`` as the file of
        ``variables.file`` (none when it is None), or the map and parts exactly as given."""
        return upload_http(
            self.server,
            UPLOAD,
            host=host or self.host,
            variables={"file": None},
            files={"file": (filename, content, content_type)} if content is not None else None,
            token=self.token if token == ADMIN else token,
            raw_map=raw_map,
            raw_files=raw_files,
        )

    def upload_without_files(self, mapping: dict[str, list[str]]) -> httpx.Response:
        """A multipart request with ``operations`` and ``map`` and no file part at all (httpx
        sends a form without files as urlencoded, so the body is written here)."""
        boundary = "logo-test-boundary"
        fields = {
            "operations": json.dumps({"query": UPLOAD, "variables": {"file": None}}),
            "map": json.dumps(mapping),
        }
        body = (
            "".join(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                for name, value in fields.items()
            )
            + f"--{boundary}--\r\n"
        )
        return self.server.request(
            "POST",
            "/graphql",
            self.host,
            content=body.encode(),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )

    def get(self, url_or_path: str, *, host: str | None = None, **kwargs: Any) -> httpx.Response:
        path = "/" + url_or_path.split("/", 3)[3] if "://" in url_or_path else url_or_path
        return self.server.request("GET", path, host or self.host, **kwargs)


def signed_in_site(server: LiveServer, clinic: Clinic) -> Site:
    login = http_login(
        server, f"{clinic.subdomain}.{settings.BASE_DOMAIN}", f"admin@{clinic.subdomain}.pe"
    )
    return Site(server, clinic, login["token"])


def objects_removed(clinic: Clinic) -> None:
    """Remove what storage holds for a test's own clinic (dropping a clinic's schema leaves its
    objects; the next run's clinic of the same name must start empty)."""
    shutil.rmtree(Path(settings.MEDIA_ROOT) / "clinics" / clinic.schema_name, ignore_errors=True)


def stored_objects(clinic: Clinic) -> list[str]:
    """Every object stored for the clinic (its keys under the media directory)."""
    root = Path(settings.MEDIA_ROOT)
    prefix = root / "clinics" / clinic.schema_name
    return sorted(str(p.relative_to(root)) for p in prefix.rglob("*") if p.is_file())


def state(clinic: Clinic, django_db_blocker: Any) -> dict[str, Any]:
    """What a logo upload may write: its rows, the file rows, the trail and the objects."""
    with django_db_blocker.unblock(), clinic_context(clinic):
        return {
            "logo": list(ClinicLogo.objects.values()),
            "files": list(StoredFile.objects.order_by("pk").values("pk", "key", "purpose")),
            "trail": list(AuditEvent.objects.order_by("pk").values_list("pk", "action")),
            "objects": stored_objects(clinic),
        }


def payload(response: httpx.Response, field: str = "uploadClinicLogo") -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"][field]


def without_typename(value: dict[str, Any]) -> dict[str, Any]:
    return {key: item for key, item in value.items() if key != "__typename"}


def codes(response_or_body: httpx.Response | dict[str, Any]) -> list[str]:
    """The codes of an answer: its OperationInfo messages, or its top-level errors."""
    body = (
        response_or_body.json()
        if isinstance(response_or_body, httpx.Response)
        else response_or_body
    )
    if body.get("errors"):
        return [error.get("extensions", {}).get("code") for error in body["errors"]]
    [value] = body["data"].values()
    return [message["code"] for message in value.get("messages", [])]
