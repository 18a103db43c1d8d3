from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FilesConfig(AppConfig):
    name = "backend.files"
    label = "files"
    verbose_name = "Files"

    def ready(self) -> None:
        from backend.files.backups import StorageFileKeeper
        from tenants_core.clinic_hooks import file_keeper_register
        from tenants_core.limits import Resource, resource_register

        # Backups carry the clinic's files; restores write them back (tenants_core.backups).
        file_keeper_register(StorageFileKeeper())

        # The bytes of every stored object count against the plan's storage.
        resource_register(
            Resource(
                name="storage_bytes",
                table="files_storedfile",
                condition="TRUE",
                limit_attribute="max_storage_bytes",
                label=_("bytes of file storage"),
                aggregate="coalesce(sum(size_bytes), 0)::bigint",
            )
        )
