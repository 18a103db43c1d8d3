"""The demo data that ``scripts/dev`` (``manage.py dev``, in ``management/commands``) seeds,
in one place:

- ``clinics.py``: the platform operator, and two demo clinics with their staff and their
  (fake) WhatsApp and SMS senders;
- ``front_desk.py``: each clinic's patients, professionals and their hours, chairs and a week
  of appointments;
- ``messaging.py``: the senders, each clinic's messaging settings and its patients' contact
  preferences (some without WhatsApp, a few opted out);
- ``clinical.py``: each clinic's procedure catalog, then charts, notes and treatment plans.

It sits above every other app: it may import any of them, and none imports it. Wherever the
demo shows a workflow it calls the services: provisioning (``clinic_provision``), the
week's upcoming appointments (``appointment_schedule`` by the receptionist, so that their
reminders are planned like any booking's; ``appointment_change_status`` confirms some),
anamnesis, findings, notes and their signing, front-desk alerts, treatment plans and their
items. The rest is seed data, nobody's action, and is written directly, without audit events:

- the demo staff besides each clinic's first admin (``create_user``) and the platform
  operator (``create_superuser``), and clinica1's patient-limit override;
- patients, professionals and their working hours, chairs and the week's appointments already
  under way or past, in bulk (``bulk_create``): hundreds of rows, drawn so that no
  professional or chair is booked twice and the patients fit the clinic's plan;
- the messaging senders, settings and contact preferences;
- the procedure catalog, in bulk.

Every step is idempotent (what exists is left alone) and deterministic per clinic.
"""
