"""Signed notes, addenda and odontogram entries cannot be changed, even in SQL.

- A signed note refuses UPDATE and DELETE (a draft can still be edited and signed).
- Addenda refuse UPDATE and DELETE.
- A finding refuses DELETE, and UPDATE except resolving it once (resolved_at, resolved_by,
  resolution), which is how the odontogram keeps its history.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION clinical_note_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'SIGNED' THEN
        RAISE EXCEPTION 'NOTE_SIGNED: signed clinical notes are immutable (%)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER clinical_note_immutable
    BEFORE UPDATE OR DELETE ON clinical_clinicalnote
    FOR EACH ROW EXECUTE FUNCTION clinical_note_immutable();

CREATE OR REPLACE FUNCTION clinical_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'clinical records are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER clinical_addendum_append_only
    BEFORE UPDATE OR DELETE ON clinical_noteaddendum
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
CREATE TRIGGER clinical_history_append_only
    BEFORE UPDATE OR DELETE ON clinical_medicalhistory
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();

CREATE OR REPLACE FUNCTION clinical_finding_resolve_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.resolved_at IS NOT NULL
       OR (to_jsonb(NEW) - 'resolved_at' - 'resolved_by_id' - 'resolution')
          IS DISTINCT FROM (to_jsonb(OLD) - 'resolved_at' - 'resolved_by_id' - 'resolution') THEN
        RAISE EXCEPTION 'odontogram entries are only ever resolved: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER clinical_finding_resolve_only
    BEFORE UPDATE OR DELETE ON clinical_finding
    FOR EACH ROW EXECUTE FUNCTION clinical_finding_resolve_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS clinical_finding_resolve_only ON clinical_finding;
DROP TRIGGER IF EXISTS clinical_history_append_only ON clinical_medicalhistory;
DROP TRIGGER IF EXISTS clinical_addendum_append_only ON clinical_noteaddendum;
DROP TRIGGER IF EXISTS clinical_note_immutable ON clinical_clinicalnote;
"""


class Migration(migrations.Migration):
    dependencies = [("clinical", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
