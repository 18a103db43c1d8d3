"""Background jobs: procrastinate's queue in PostgreSQL, with every job bound to one clinic.

Domain code defers work in one line, inside its service's transaction (the outbox: the job
commits or rolls back with the write that asked for it)::

    clinic_job(send_notification, notification_id=n.pk, schedule_at=n.send_at)

See ``backend.jobs.runtime`` for the helpers and ``docs/jobs.md`` for running workers.
"""
