"""Templates: autoescaping in text and in attributes (double and single
quoted), and ``|tojson`` inside ``<script>`` and attributes."""

from __future__ import annotations

import json
import re
import typing as t
from pathlib import Path

import pytest

from erlen import Erlen, render_template, render_template_string, request
from erlen.testing import ErlenClient

from .helpers import check

PAYLOADS = [
    '"><script>alert(1)</script>',
    "' onmouseover='alert(1)",
    "</script><script>alert(1)</script>",
    "<!--<script>",
    "<img src=x onerror=alert(1)>",
    "&lt;already&gt; & <b>",
]

PAGE = """<!doctype html>
<p>{{ v }}</p>
<a title="{{ v }}" href="/x">double</a>
<a title='{{ v }}' href="/x">single</a>
<script>var data = {{ v|tojson }};</script>
<div data-v='{{ v|tojson }}'></div>
"""


@pytest.fixture
def app(app: Erlen, tmp_path: Path) -> Erlen:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(PAGE)

    @app.route("/file")
    def from_file() -> str:
        return render_template("page.html", v=request.args["v"])

    @app.route("/string")
    def from_string() -> str:
        return render_template_string(PAGE, v=request.args["v"])

    return app


def render(client: ErlenClient, source: str, value: str) -> str:
    response = client.get(f"/{source}", query_string={"v": value})
    check(response, 200)
    return response.text


def parts(html: str) -> dict[str, str]:
    """The rendered pieces of PAGE, found by their fixed markup."""
    found = re.search(
        r"<p>(?P<text>.*)</p>\n"
        r'<a title="(?P<double>.*)" href="/x">double</a>\n'
        r"<a title='(?P<single>.*)' href=\"/x\">single</a>\n"
        r"<script>var data = (?P<script>.*);</script>\n"
        r"<div data-v='(?P<data>.*)'></div>\n?$",
        html,
        re.DOTALL,
    )
    assert found is not None, f"markup was broken out of: {html!r}"
    return found.groupdict()


@pytest.mark.parametrize("source", ["file", "string"])
@pytest.mark.parametrize("value", PAYLOADS)
def test_payload_stays_inside_its_context(
    client: ErlenClient, source: str, value: str
) -> None:
    html = render(client, source, value)
    got = parts(html)
    # Text and both attribute quotings: no markup character survives.
    for name in ("text", "double", "single"):
        for char in "<>\"'":
            assert char not in got[name], (name, got[name])
    # The script holds exactly the value, as JSON that cannot end the element.
    assert "<" not in got["script"] and ">" not in got["script"]
    assert json.loads(got["script"]) == value
    # The single-quoted attribute cannot be closed by the JSON either.
    assert "'" not in got["data"]
    assert json.loads(got["data"]) == value
    # One script element, one closing tag: the payload opened none.
    assert html.count("<script>") == 1 and html.count("</script>") == 1


@pytest.mark.parametrize(
    "value", [{"k": "</script><script>alert(1)</script>"}, ["'", "&"]]
)
def test_tojson_of_structures_cannot_close_the_script(app: Erlen, value: t.Any) -> None:
    with app.test_request_context():
        html = render_template_string("<script>x = {{ v|tojson }};</script>", v=value)
    inner = html[len("<script>x = ") : -len(";</script>")]
    assert "<" not in inner and ">" not in inner and "&" not in inner
    assert "'" not in inner
    assert json.loads(inner) == value


def test_autoescape_cannot_be_bypassed_by_markup_lookalikes(app: Erlen) -> None:
    class Evil:
        def __str__(self) -> str:
            return "<script>alert(1)</script>"

    with app.test_request_context():
        html = render_template_string("<p>{{ v }}</p>", v=Evil())
    assert html == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
