"""server-app's routes, through Flask's test client."""

from __future__ import annotations

import pytest

from sample_project import __version__
from sample_project.app import create_app


def test_index_names_the_service_and_its_package_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("APP_VERSION", raising=False)

    response = create_app().test_client().get("/")

    assert response.status_code == 200
    assert response.get_json() == {
        "service": "server-app",
        "version": __version__,
        "message": "Hello from server-app",
    }
    assert __version__ == "1.0.0"


def test_app_version_overrides_the_package_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_VERSION", "2.5.0-rc1")

    response = create_app().test_client().get("/")

    assert response.get_json()["version"] == "2.5.0-rc1"


def test_healthz_answers_ok() -> None:
    response = create_app().test_client().get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_unknown_path_is_not_found() -> None:
    response = create_app().test_client().get("/nope")

    assert response.status_code == 404
