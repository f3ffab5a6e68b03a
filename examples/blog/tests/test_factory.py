import functools
from pathlib import Path

import pytest

import blog
from blog import create_app
from erlen import Erlen


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give apps made by create_app() an instance folder under tmp_path, so
    these tests neither read nor write the real one."""
    folder = tmp_path / "instance"
    monkeypatch.setattr(
        blog, "Erlen", functools.partial(Erlen, instance_path=str(folder))
    )
    return folder


def test_config(instance: Path) -> None:
    assert not create_app().testing
    assert create_app({"TESTING": True}).testing


def test_defaults(instance: Path) -> None:
    app = create_app()
    assert app.config["SECRET_KEY"] == "dev"
    assert app.config["DATABASE"] == str(instance / "blog.sqlite")
    # create_app() makes the instance folder the database lives in.
    assert instance.is_dir()


def test_instance_config_overrides_defaults(instance: Path) -> None:
    instance.mkdir()
    (instance / "config.py").write_text('SECRET_KEY = "from the instance"\n')
    assert create_app().config["SECRET_KEY"] == "from the instance"


def test_test_config_replaces_instance_config(instance: Path) -> None:
    instance.mkdir()
    (instance / "config.py").write_text('SECRET_KEY = "from the instance"\n')
    app = create_app({"SECRET_KEY": "from the test"})
    assert app.config["SECRET_KEY"] == "from the test"


def test_index_is_the_front_page(client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"<h1>Posts</h1>" in response.data


def test_stylesheet(client) -> None:
    page = client.get("/")
    assert b'href="/static/style.css"' in page.data
    css = client.get("/static/style.css")
    assert css.status_code == 200
    assert css.mimetype == "text/css"
    assert b".flash" in css.data
