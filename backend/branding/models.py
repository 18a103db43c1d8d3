"""The clinic's logo: one row, or none."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from backend.files.models import StoredFile

# The two versions kept, by the longest side they fit in (never upscaled): the large one for
# the web widget and the login page, the small one for the apps' lists and notifications.
LARGE = 512
SMALL = 128
SIZES = (LARGE, SMALL)


class ClinicLogo(models.Model):
    """The clinic's logo as it is served: two re-encoded versions (stored files of purpose
    ``LOGO``) and the SHA-256 of the large one, which names both publicly
    (``/logo/<sha256>-<size>.<ext>``): a new logo has new URLs at once, and a URL's content
    never changes, so it is cached for a year."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    large = models.OneToOneField(
        StoredFile, on_delete=models.PROTECT, related_name="+", help_text="512 px"
    )
    small = models.OneToOneField(
        StoredFile, on_delete=models.PROTECT, related_name="+", help_text="128 px"
    )
    sha256 = models.CharField(max_length=64)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="branding_logo_single_row"),
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="branding_logo_sha256_hex"
            ),
        ]

    def __str__(self) -> str:
        return f"logo {self.sha256[:12]}"

    def version(self, size: int) -> StoredFile:
        """The stored file of ``size`` (``LARGE`` or ``SMALL``)."""
        return self.large if size == LARGE else self.small
