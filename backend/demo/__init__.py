"""The demo data that ``scripts/dev`` (``manage.py dev``, in ``management/commands``) seeds,
in one place:

- ``clinics.py``: the platform operator, and two demo clinics with their staff;
- ``front_desk.py``: each clinic's patients, professionals and their hours, chairs and a week
  of appointments;
- ``clinical.py``: each clinic's procedure catalog, then charts, notes and treatment plans.

It sits above every other app: it may import any of them, and none imports it. Wherever the
demo shows a workflow it calls the services: provisioning (``clinic_provision``), anamnesis,
findings, notes and their signing, front-desk alerts, treatment plans and their items. The
rest is seed data, nobody's action, and is written directly, without audit events:

- the demo staff besides each clinic's first admin (``create_user``) and the platform
  operator (``create_superuser``), and clinica1's patient-limit override;
- patients, professionals and their working hours, chairs and the week of appointments, in
  bulk (``bulk_create``): hundreds of rows, drawn so that no professional or chair is booked
  twice and the patients fit the clinic's plan;
- the procedure catalog, in bulk.

Every step is idempotent (what exists is left alone) and deterministic per clinic.
"""
