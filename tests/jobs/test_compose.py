"""docker-compose.yml runs a worker: same image and settings as the app, after the database is
healthy and the app has migrated. (No YAML parser or compose in the tool chain: read as text.)"""

from __future__ import annotations

from tests.conftest import ROOT


def _service(compose: str, name: str) -> str:
    lines = compose.splitlines()
    start = lines.index(f"  {name}:")
    block = []
    for line in lines[start + 1 :]:
        if line and not line.startswith("   ") and not line.startswith("  #"):
            break
        block.append(line)
    return "\n".join(block)


def test_compose_has_a_worker_with_the_apps_environment():
    compose = (ROOT / "docker-compose.yml").read_text()
    app = _service(compose, "app")
    worker = _service(compose, "worker")
    assert "environment: &app-environment" in app
    assert "environment: *app-environment" in worker
    assert 'command: ["python", "manage.py", "worker"]' in worker
    assert "build: ." in worker
    for needed in ("db:\n        condition: service_healthy", "app:\n        condition: service_healthy"):  # fmt: skip
        assert needed in worker, worker
    assert "restart: unless-stopped" in worker
