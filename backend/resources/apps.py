from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    name = "backend.resources"
    # The package was backend/staff: the label keeps its tables, migrations and content types.
    label = "staff"
    verbose_name = "Professionals and chairs"
