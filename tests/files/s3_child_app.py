"""A read hook for documents in the uvicorn child of ``test_s3_server.py``: user 666 is
refused, anyone else may read, signed in or not."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class ReadHooksForTests(AppConfig):
    name = "tests.files"
    label = "tests_files_read_hooks"

    def ready(self) -> None:
        from django.core.exceptions import PermissionDenied

        from backend.files.models import FilePurpose
        from backend.files.signing import credential_check_register, read_hook_register

        def allow(stored: Any, user_id: Any) -> None:
            if user_id == 666:
                raise PermissionDenied

        read_hook_register(FilePurpose.DOCUMENT, allow)
        # Links are made for user 7 without a sign-in (accounts' own check needs a token).
        credential_check_register(lambda user_id, token_id: True)
