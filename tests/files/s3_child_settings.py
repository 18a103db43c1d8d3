"""Settings of the uvicorn child that serves files from S3 in ``test_s3_server.py``: the
product's own settings (``FILE_STORAGE=s3`` comes from the environment), plus a test app that
registers a read hook for documents, which the product leaves to the documents app."""

from backend.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.files.s3_child_app.ReadHooksForTests"]  # noqa: F405
