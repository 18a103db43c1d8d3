#!/usr/bin/env python
"""Create a clinic: ``scripts/create_clinic.py <subdomain> <name> <ruc> <email> [plan]``.

The same as ``manage.py create_clinic``; run it with the project's virtualenv
(``.venv/bin/python scripts/create_clinic.py ...``) after ``scripts/dev`` or ``scripts/test``
has created it. The plan may be given by its Spanish name, as the original system's
``crear_clinica.py`` took it: ``basico``, ``profesional``, ``empresarial``.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", "create_clinic", *sys.argv[1:]])
