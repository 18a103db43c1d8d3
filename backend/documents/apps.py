from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "backend.documents"
    label = "documents"
    verbose_name = "Patient documents"

    def ready(self) -> None:
        from backend.documents.reads import read_hooks_register

        # A signed download of a document (or of its preview) checks, when it is used, that
        # the user may still read that kind, and records the read.
        read_hooks_register()
