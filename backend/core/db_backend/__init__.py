"""The project's database backend: django-tenants' PostgreSQL backend with the clinic's schema
chosen per transaction (see ``base.py``)."""
