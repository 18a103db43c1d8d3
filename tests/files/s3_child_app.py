"""A read hook for documents in the uvicorn child of ``test_s3_server.py``: user 666 is
refused, anyone else may read."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class ReadHooksForTests(AppConfig):
    name = "tests.files"
    label = "tests_files_read_hooks"

    def ready(self) -> None:
        from django.core.exceptions import PermissionDenied

        from backend.files.models import FilePurpose
        from backend.files.signing import read_hook_register

        def allow(stored: Any, user_id: Any) -> None:
            if user_id == 666:
                raise PermissionDenied

        read_hook_register(FilePurpose.DOCUMENT, allow)
