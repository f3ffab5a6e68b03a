"""Jinja2 templates: the app's environment, its loader, and the render
functions.

Templates are looked up in the app's ``templates`` folder first, then in each
blueprint's ``template_folder`` in registration order.  Every template sees
``config``, ``request``, ``session``, ``g``, ``url_for`` and
``get_flashed_messages``, plus what the context processors return.
"""

from __future__ import annotations

import os
import typing as t
from collections import ChainMap

from jinja2 import BaseLoader, FileSystemLoader, TemplateNotFound
from jinja2 import Environment as BaseEnvironment
from jinja2 import Template as BaseTemplate
from jinja2.runtime import Context
from markupsafe import Markup

from .concurrency import is_async_callable
from .globals import _cv_request, current_app
from .signals import before_render_template, send, template_rendered

if t.TYPE_CHECKING:
    from jinja2 import Template

    from .app import Erlen
    from .scaffold import Scaffold

__all__ = [
    "DispatchingJinjaLoader",
    "Environment",
    "get_template_attribute",
    "render_template",
    "render_template_async",
    "render_template_string",
    "render_template_string_async",
    "stream_template",
    "stream_template_string",
]

_AUTOESCAPE_EXTENSIONS = (".html", ".htm", ".xml", ".xhtml", ".svg")


def select_autoescape(filename: str | None) -> bool:
    """Autoescape HTML-like templates and templates from strings."""
    if filename is None:
        return True
    return filename.endswith(_AUTOESCAPE_EXTENSIONS)


def _context_from(func: t.Callable[[], t.Any]) -> t.Any:
    """Call a context processor.  An ``async def`` one is run to completion
    the way Erlen runs ``async def`` signal receivers (templates render
    synchronously): on the thread's own event loop, or on a helper thread
    when this thread is running one (an ``async def`` view under ASGI)."""
    if is_async_callable(func):
        from .signals import _sync_caller

        return _sync_caller(func)()
    return func()


class _Template(BaseTemplate):
    """Jinja2's template, with its render context built in C."""

    def new_context(
        self,
        vars: dict[str, t.Any] | None = None,
        shared: bool = False,
        locals: t.Mapping[str, t.Any] | None = None,
    ) -> Context:
        globals = self.globals
        if shared or locals or type(globals) is not ChainMap:
            return super().new_context(vars, shared, locals)
        # PERF: what Jinja2 does, dict(globals, **vars), without reading
        # the ChainMap of the template's and the environment's globals one
        # key at a time in Python (13 keys: 7.6 -> 2.3 us per render).
        # The maps are read at each render, so changes to the globals show.
        parent: dict[str, t.Any] = {}
        for mapping in reversed(globals.maps):
            parent.update(mapping)
        if vars:
            parent.update(vars)
        return self.environment.context_class(
            self.environment, parent, self.name, self.blocks, globals=globals
        )


#: What ``getattr(dict_instance, name)`` finds: a template's ``d.items``
#: is the method, as in Jinja2, not the key.
_DICT_ATTRIBUTES = frozenset(dir(dict))


class Environment(BaseEnvironment):
    """The app's Jinja2 environment (``app.jinja_env``).

    Unless ``auto_reload`` is set (in ``jinja_options`` or on the
    environment), it follows the app's ``TEMPLATES_AUTO_RELOAD`` and debug
    mode as they are now, not as they were when the environment was made.
    """

    template_class = _Template

    def __init__(self, app: Erlen, **options: t.Any) -> None:
        if "loader" not in options:
            options["loader"] = DispatchingJinjaLoader(app)
        explicit: bool | None = options.pop("auto_reload", None)
        self.app = app
        super().__init__(**options)
        self._auto_reload = explicit

    def getattr(self, obj: t.Any, attribute: str) -> t.Any:
        """``obj.attribute`` in a template: the attribute, else the item,
        else undefined, as in Jinja2."""
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            # PERF: a dict has no such attribute, so Jinja2's getattr() would
            # fail before it looks up the key: the key at once, without the
            # AttributeError (the benchmark page, 20 of them: its render
            # 39.7 -> 30.2 us in a tight loop).
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    @property
    def auto_reload(self) -> bool:
        """Whether a template whose file changed is loaded again."""
        if self._auto_reload is not None:
            return self._auto_reload
        return self.app.templates_auto_reload

    @auto_reload.setter
    def auto_reload(self, value: bool | None) -> None:
        # Setting what the app's config already says (as the ``debug``
        # setter does) keeps following the config; ``None`` goes back to it.
        app = self.__dict__.get("app")
        if value is not None and app is not None and value == app.templates_auto_reload:
            value = None
        self._auto_reload = value


def template_loader(scaffold: Scaffold) -> FileSystemLoader | None:
    """A loader for ``scaffold``'s ``template_folder``, or ``None``."""
    if scaffold.template_folder is None:
        return None
    return FileSystemLoader(os.path.join(scaffold.root_path, scaffold.template_folder))


class DispatchingJinjaLoader(BaseLoader):
    """Finds a template in the app's template folder, then in each
    blueprint's ``template_folder`` in registration order; the first folder
    that has it wins.

    With ``EXPLAIN_TEMPLATE_LOADING``, every search is logged (``INFO`` on
    ``app.logger``) with the folders tried, to debug a template that is not
    found or a blueprint's template hidden by another of the same name.
    """

    def __init__(self, app: Erlen) -> None:
        self.app = app

    def _loaders(self) -> t.Iterator[tuple[Scaffold, BaseLoader]]:
        seen: set[int] = set()
        candidates: t.Iterable[Scaffold] = (self.app, *self.app.iter_blueprints())
        for owner in candidates:
            loader = owner.jinja_loader  # type: ignore[attr-defined]
            # A blueprint registered under two names is searched once.
            if loader is not None and id(loader) not in seen:
                seen.add(id(loader))
                yield owner, loader

    def get_source(
        self, environment: BaseEnvironment, template: str
    ) -> tuple[str, str | None, t.Callable[[], bool] | None]:
        if self.app.config["EXPLAIN_TEMPLATE_LOADING"]:
            return self._explained(environment, template)
        for _, loader in self._loaders():
            try:
                return loader.get_source(environment, template)
            except TemplateNotFound:
                continue
        raise self._not_found(template)

    def _not_found(self, template: str) -> TemplateNotFound:
        folders = [_describe(loader) for _, loader in self._loaders()]
        where = "; ".join(folders) if folders else "no template folder is configured"
        return TemplateNotFound(
            template,
            f"{template!r} was not found ({where}). Check the name and the"
            " folders; set EXPLAIN_TEMPLATE_LOADING = True to log each search.",
        )

    def _explained(
        self, environment: BaseEnvironment, template: str
    ) -> tuple[str, str | None, t.Callable[[], bool] | None]:
        lines = [f"Locating template {template!r}:"]
        matches: list[tuple[str, str | None, t.Callable[[], bool] | None]] = []
        for number, (owner, loader) in enumerate(self._loaders(), 1):
            try:
                rv = loader.get_source(environment, template)
            except TemplateNotFound:
                outcome = "no match"
            else:
                matches.append(rv)
                outcome = f"found {rv[1]!r}"
            lines.append(f"  {number}. {owner!r}: {_describe(loader)} -> {outcome}")
        if not matches:
            lines.append("Error: the template was not found.")
            lines.append(
                "  Check the name, and that the file is in the app's template"
                " folder or a registered blueprint's template_folder."
            )
            req_ctx = _cv_request.get(None)
            blueprint = req_ctx.request.blueprint if req_ctx is not None else None
            if blueprint is not None:
                lines.append(
                    f"  The request's blueprint is {blueprint!r}: template names"
                    " are not relative to it. A blueprint's templates are found"
                    " by the same names as the app's, so keep them in a"
                    f" subfolder ('{blueprint.rpartition('.')[2]}/page.html')."
                )
        elif len(matches) > 1:
            lines.append(
                "Warning: several folders have this template; the first one"
                " found is used."
            )
        self.app.logger.info("\n".join(lines))
        if not matches:
            raise TemplateNotFound(template)
        return matches[0]

    def list_templates(self) -> list[str]:
        """Every template name of the app and its blueprints, sorted."""
        names: set[str] = set()
        for _, loader in self._loaders():
            names.update(loader.list_templates())
        return sorted(names)


def _describe(loader: BaseLoader) -> str:
    """``FileSystemLoader in /path/templates``, for the search log."""
    paths = getattr(loader, "searchpath", None)
    if paths:
        return f"{type(loader).__name__} in {', '.join(map(str, paths))}"
    return repr(loader)


def _render(app: Erlen, template: Template, context: dict[str, t.Any]) -> str:
    app.update_template_context(context)
    send(before_render_template, app, template=template, context=context)
    rv = template.render(context)
    send(template_rendered, app, template=template, context=context)
    return rv


def render_template(
    template_name_or_list: str | Template | list[str | Template],
    **context: t.Any,
) -> str:
    """Render a template from the app's or a blueprint's template folder.

    :param template_name_or_list: a name, a list of names (the first that
        exists is rendered), or a ``jinja2.Template``.
    :param context: the template's variables; they win over the names the
        context processors add.
    :return: the rendered text.
    :raises jinja2.TemplateNotFound: no folder has the template.
    """
    app: Erlen = current_app._get_current_object()  # type: ignore[attr-defined]
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return _render(app, template, context)


async def render_template_async(
    template_name_or_list: str | Template | list[str | Template],
    **context: t.Any,
) -> str:
    """:func:`render_template` for ``async def`` views: the rendering runs
    in the app's thread pool (with the current context), so a large template
    does not block the event loop.  The hop to the pool costs more than an
    ordinary page takes to render (see :doc:`/async`): call
    :func:`render_template` for those, and this for large pages::

        @app.get("/")
        async def index():
            posts = await load_posts()
            return await render_template_async("index.html", posts=posts)
    """
    from .concurrency import AsyncRunner

    app: Erlen = current_app._get_current_object()  # type: ignore[attr-defined]
    runner = AsyncRunner(app._get_executor())
    return await runner.in_thread(render_template, template_name_or_list, **context)


async def render_template_string_async(source: str, **context: t.Any) -> str:
    """:func:`render_template_string` rendered in the app's thread pool."""
    from .concurrency import AsyncRunner

    app: Erlen = current_app._get_current_object()  # type: ignore[attr-defined]
    runner = AsyncRunner(app._get_executor())
    return await runner.in_thread(render_template_string, source, **context)


def render_template_string(source: str, **context: t.Any) -> str:
    """Render a template given as a string; it is always autoescaped.

    :param source: the template's source.
    :param context: the template's variables.
    :return: the rendered text.
    """
    app: Erlen = current_app._get_current_object()  # type: ignore[attr-defined]
    template = app.jinja_env.from_string(source)
    return _render(app, template, context)


def _stream(
    app: Erlen, template: Template, context: dict[str, t.Any]
) -> t.Iterator[str]:
    app.update_template_context(context)
    send(before_render_template, app, template=template, context=context)

    def generate() -> t.Iterator[str]:
        yield from template.generate(context)
        send(template_rendered, app, template=template, context=context)

    rv = generate()
    if _cv_request.get(None) is not None:
        from .helpers import stream_with_context

        rv = stream_with_context(rv)
    return rv


def stream_template(
    template_name_or_list: str | Template | list[str | Template],
    **context: t.Any,
) -> t.Iterator[str]:
    """Render a template piece by piece, for a streamed response::

        return stream_template("log.html", lines=read_lines())

    Inside a request, the request context stays available while the template
    renders (after the view returned), and the request's teardown runs once
    the stream is finished.

    :param template_name_or_list: as for :func:`render_template`.
    :param context: the template's variables.
    :return: an iterator of strings.
    """
    app: Erlen = current_app._get_current_object()  # type: ignore[attr-defined]
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return _stream(app, template, context)


def stream_template_string(source: str, **context: t.Any) -> t.Iterator[str]:
    """:func:`stream_template` for a template given as a string.

    :param source: the template's source (autoescaped).
    :param context: the template's variables.
    :return: an iterator of strings.
    """
    app: Erlen = current_app._get_current_object()  # type: ignore[attr-defined]
    template = app.jinja_env.from_string(source)
    return _stream(app, template, context)


def get_template_attribute(template_name: str, attribute: str) -> t.Any:
    """A macro or top-level variable of a template, to use from Python::

        hello = get_template_attribute("_macros.html", "hello")
        return hello("World")

    :param template_name: the template's name.
    :param attribute: the name of the macro or variable.
    """
    return getattr(current_app.jinja_env.get_template(template_name).module, attribute)


def tojson_filter(obj: t.Any, **kwargs: t.Any) -> Markup:
    """The ``|tojson`` filter: the app's JSON with ``<``, ``>``, ``&`` and
    ``'`` written as ``\\u`` escapes, so it cannot end a ``<script>``
    element or a single-quoted HTML attribute.

    :param obj: the value to serialize.
    :param kwargs: options for the app's ``json.dumps`` (``indent=2``).
    """
    from .json import dumps

    rv = (
        dumps(obj, **kwargs)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )
    return Markup(rv)
