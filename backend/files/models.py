"""Stored files: one row per object in the clinic's storage (local disk or S3)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class FilePurpose(models.TextChoices):
    LOGO = "logo", _("Clinic logo")
    DOCUMENT = "document", _("Patient document")
    PREVIEW = "preview", _("Preview or thumbnail")


class StoredFile(models.Model):
    """An object in storage. Its key is prefixed by the clinic's schema and unguessable
    (``clinics/<schema>/<purpose>/<random><ext>``); the object is never served by its key, only
    through the app (``backend.files.signing``, the public logo view), so a key alone gives
    nothing. Rows are created and deleted only by ``backend.files.services``."""

    key = models.CharField(max_length=300, unique=True)
    purpose = models.CharField(max_length=16, choices=FilePurpose.choices)
    content_type = models.CharField(max_length=100)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(size_bytes__gte=0), name="file_size_not_negative"),
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="file_sha256"
            ),
        ]

    def __str__(self) -> str:
        return self.key
