"""Blueprints: groups of routes, hooks, templates and static files that are
registered on an app, possibly several times and nested.

A blueprint keeps what is registered on it and hands it to the app at
:meth:`Erlen.register_blueprint <erlen.Erlen.register_blueprint>` time: its
hooks and error handlers go into the app's registries under the blueprint's
(dotted) name, and the calls it *recorded* (routes, app-wide hooks, template
filters, :meth:`Blueprint.record` functions) are replayed with a
:class:`BlueprintSetupState` that puts the ``url_prefix`` in front of every
rule and the name in front of every endpoint (``auth.login``).
"""

from __future__ import annotations

import os
import typing as t
from collections import defaultdict
from functools import cached_property

from .scaffold import Scaffold, _check_sync, setupmethod

if t.TYPE_CHECKING:
    from jinja2 import BaseLoader

    from .app import Erlen

__all__ = ["Blueprint", "BlueprintSetupState"]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])
DeferredSetupFunction = t.Callable[["BlueprintSetupState"], None]

#: ``cli_group`` not given: the commands go in a group named after the
#: blueprint.
_sentinel: t.Any = object()

#: The per-blueprint registries of a scaffold whose values are lists of
#: functions; registration appends a blueprint's lists to the app's.
_FUNCTION_REGISTRIES = (
    "before_request_funcs",
    "after_request_funcs",
    "teardown_request_funcs",
    "url_default_functions",
    "url_value_preprocessors",
    "template_context_processors",
)


def _given(value: t.Any, fallback: t.Any) -> t.Any:
    """``value`` unless it is ``None``."""
    return fallback if value is None else value


def _prefix_rule(url_prefix: str | None, rule: str) -> str:
    """``rule`` under ``url_prefix``, with one slash between them; an empty
    rule is the prefix itself."""
    if url_prefix is None:
        return rule
    if not rule:
        return url_prefix
    return f"{url_prefix.rstrip('/')}/{rule.lstrip('/')}"


def _nested_prefix(outer: str | None, inner: str | None) -> str | None:
    """A nested blueprint's ``url_prefix``: its own under its parent's."""
    if outer is None or inner is None:
        return inner if outer is None else outer
    return f"{outer.rstrip('/')}/{inner.lstrip('/')}"


def _nested_subdomain(outer: str | None, inner: str | None) -> str | None:
    """A nested blueprint's subdomain: its own, then its parent's, dotted
    (``api`` in ``v1`` is ``v1.api``)."""
    parts = [part for part in (inner, outer) if part is not None]
    return ".".join(parts) if parts else None


class BlueprintSetupState:
    """What a recorded function gets when its blueprint is registered: the
    app, the blueprint and the options of this registration, already
    combined with the blueprint's own.

    :param blueprint: the blueprint being registered.
    :param app: the app it is registered on.
    :param options: the keyword arguments of ``register_blueprint`` (for a
        nested blueprint, with its parent's prefix and subdomain applied).
    :param first_registration: whether the blueprint was not registered on
        this app before, under any name.
    """

    def __init__(
        self,
        blueprint: Blueprint,
        app: Erlen,
        options: dict[str, t.Any],
        first_registration: bool,
    ) -> None:
        #: The app the blueprint is registered on.
        self.app = app
        #: The blueprint being registered.
        self.blueprint = blueprint
        #: The options given to ``register_blueprint``.
        self.options = options
        #: Whether this is the blueprint's first registration on this app
        #: (:meth:`Blueprint.record_once` functions run only then).
        self.first_registration = first_registration
        #: The subdomain the blueprint's rules match by default.
        self.subdomain: str | None = _given(
            options.get("subdomain"), blueprint.subdomain
        )
        #: Put in front of every rule of the blueprint.
        self.url_prefix: str | None = _given(
            options.get("url_prefix"), blueprint.url_prefix
        )
        #: The blueprint's name in this registration, without its parents'.
        self.name: str = options.get("name", blueprint.name)
        #: The dotted name of the parent blueprints ("" at the top level).
        self.name_prefix: str = options.get("name_prefix", "")
        #: Default values for every rule's variables.
        self.url_defaults: dict[str, t.Any] = {
            **blueprint.url_values_defaults,
            **(options.get("url_defaults") or {}),
        }

    @property
    def full_name(self) -> str:
        """The dotted name endpoints are prefixed with (``parent.child``)."""
        if self.name_prefix:
            return f"{self.name_prefix}.{self.name}"
        return self.name

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: t.Callable[..., t.Any] | None = None,
        **options: t.Any,
    ) -> None:
        """Add a rule to the app with this registration's URL prefix,
        subdomain, endpoint prefix and URL defaults."""
        if endpoint is None:
            if view_func is None:
                raise TypeError(
                    "add_url_rule() needs an endpoint name or a view_func to"
                    " take the name from."
                )
            endpoint = view_func.__name__
        options.setdefault("subdomain", self.subdomain)
        defaults = {**self.url_defaults, **(options.pop("defaults", None) or {})}
        self.app.add_url_rule(
            _prefix_rule(self.url_prefix, rule),
            f"{self.full_name}.{endpoint}",
            view_func,
            defaults=defaults or None,
            **options,
        )


class Blueprint(Scaffold):
    """A group of routes, hooks, templates and static files to register on
    an app, once or several times, or inside another blueprint.

    :param name: the blueprint's name, put in front of its endpoints
        (``url_for("auth.login")``); no dots.
    :param import_name: the blueprint module's ``__name__``; it locates
        ``root_path``.
    :param static_folder: a folder of static files, served under the
        blueprint's ``url_prefix`` + ``static_url_path`` (endpoint
        ``<name>.static``).
    :param static_url_path: the URL path of its static files (default: the
        folder's name).
    :param template_folder: a templates folder, searched after the app's.
    :param url_prefix: put in front of every rule.
    :param subdomain: the subdomain its rules match by default.
    :param url_defaults: default values for its rules' variables, passed to
        its views.
    :param root_path: the blueprint's folder, if ``import_name`` cannot find
        it.
    :param cli_group: the command group of its CLI commands (default: the
        blueprint's name); ``None`` adds them to the ``erlen`` command
        directly.
    """

    _got_registered_once = False

    def __init__(
        self,
        name: str,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        url_prefix: str | None = None,
        subdomain: str | None = None,
        url_defaults: dict[str, t.Any] | None = None,
        root_path: str | None = None,
        cli_group: str | None = _sentinel,
    ) -> None:
        super().__init__(
            import_name=import_name,
            static_folder=static_folder,
            static_url_path=static_url_path,
            template_folder=template_folder,
            root_path=root_path,
        )
        if not name:
            raise ValueError("A blueprint needs a name: Blueprint('name', __name__).")
        if "." in name:
            raise ValueError(
                f"The blueprint name {name!r} contains a dot. Dots separate"
                " nested blueprints in endpoint names ('parent.child.view');"
                " use '_' instead."
            )
        #: The blueprint's name.
        self.name = name
        #: Put in front of every rule, unless registration gives another.
        self.url_prefix = url_prefix
        #: The subdomain its rules match, unless registration gives another.
        self.subdomain = subdomain
        #: The functions replayed at each registration (:meth:`record`).
        self.deferred_functions: list[DeferredSetupFunction] = []
        #: Default values for its rules' variables.
        self.url_values_defaults: dict[str, t.Any] = url_defaults or {}
        #: The command group name (see ``cli_group`` above).
        self.cli_group = cli_group
        self._blueprints: list[tuple[Blueprint, dict[str, t.Any]]] = []
        from .cli import AppGroup

        #: The blueprint's commands, added to the app's ``erlen`` command.
        self.cli = AppGroup()
        self.cli.name = self.name

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_registered_once:
            # AssertionError, as in Flask, so ported tests still catch it.
            raise AssertionError(
                f"'{f_name}' was called on the blueprint {self.name!r} after it"
                " was registered on an app, so the change would not reach that"
                " app. Finish setting the blueprint up (routes, hooks, nested"
                " blueprints) before calling register_blueprint()."
            )

    @cached_property
    def jinja_loader(self) -> BaseLoader | None:
        """The loader of the blueprint's ``template_folder``, or ``None``."""
        from .templating import template_loader

        return template_loader(self)

    # -- recording ------------------------------------------------------------

    @setupmethod
    def record(self, func: DeferredSetupFunction) -> None:
        """Call ``func(state)`` each time the blueprint is registered, with a
        :class:`BlueprintSetupState`; for extensions that need the app."""
        self.deferred_functions.append(func)

    @setupmethod
    def record_once(self, func: DeferredSetupFunction) -> None:
        """Like :meth:`record`, but only on the blueprint's first
        registration on an app (not when it is registered again under
        another name)."""

        def on_first_registration(state: BlueprintSetupState) -> None:
            if state.first_registration:
                func(state)

        self.record(on_first_registration)

    def make_setup_state(
        self,
        app: Erlen,
        options: dict[str, t.Any],
        first_registration: bool = False,
    ) -> BlueprintSetupState:
        """The :class:`BlueprintSetupState` of one registration; override to
        use a subclass."""
        return BlueprintSetupState(self, app, options, first_registration)

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: t.Any) -> None:
        """Nest ``blueprint`` in this one: its endpoints become
        ``parent.child.view``, its ``url_prefix`` goes under this one's and
        its subdomain under this one's.  Takes the options of
        :meth:`Erlen.register_blueprint <erlen.Erlen.register_blueprint>`.
        """
        if blueprint is self:
            raise ValueError(f"The blueprint {self.name!r} cannot be nested in itself.")
        self._blueprints.append((blueprint, options))

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: t.Callable[..., t.Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: t.Any,
    ) -> None:
        """Add a rule, under the ``url_prefix`` and with the endpoint named
        ``<blueprint>.<endpoint>``, when the blueprint is registered; see
        :meth:`Erlen.add_url_rule <erlen.Erlen.add_url_rule>`."""
        if endpoint and "." in endpoint:
            raise ValueError(
                f"The endpoint {endpoint!r} contains a dot; in a blueprint the"
                " blueprint's name is added in front of it for you."
            )
        view_name = getattr(view_func, "__name__", "")
        if view_func is not None and "." in view_name:
            raise ValueError(
                f"The view function's name {view_name!r} contains a dot; pass"
                " endpoint='...' to name the route."
            )

        def add_rule(state: BlueprintSetupState) -> None:
            state.add_url_rule(
                rule,
                endpoint,
                view_func,
                provide_automatic_options=provide_automatic_options,
                **options,
            )

        self.record(add_rule)

    # -- app-wide registration ------------------------------------------------

    def _on_app(self, registry: str, f: t.Callable[..., t.Any]) -> None:
        """Add ``f`` to the app's own (not blueprint-scoped) ``registry`` at
        the first registration."""
        self.record_once(lambda s: getattr(s.app, registry)[None].append(f))

    @setupmethod
    def before_app_request(self, f: F) -> F:
        """Like :meth:`Erlen.before_request <erlen.Erlen.before_request>`,
        for every request of the app, not only the blueprint's."""
        self._on_app("before_request_funcs", f)
        return f

    @setupmethod
    def after_app_request(self, f: F) -> F:
        """Like :meth:`Erlen.after_request <erlen.Erlen.after_request>`, for
        every request of the app."""
        self._on_app("after_request_funcs", f)
        return f

    @setupmethod
    def teardown_app_request(self, f: F) -> F:
        """Like :meth:`Erlen.teardown_request
        <erlen.Erlen.teardown_request>`, for every request of the app."""
        self._on_app("teardown_request_funcs", f)
        return f

    @setupmethod
    def app_context_processor(self, f: F) -> F:
        """Like :meth:`Erlen.context_processor
        <erlen.Erlen.context_processor>`, for every template of the app."""
        self._on_app("template_context_processors", f)
        return f

    @setupmethod
    def app_errorhandler(self, code: type[Exception] | int) -> t.Callable[[F], F]:
        """Like :meth:`Erlen.errorhandler <erlen.Erlen.errorhandler>`, for
        errors anywhere in the app."""

        def decorator(f: F) -> F:
            self.record_once(lambda s: s.app.register_error_handler(code, f))
            return f

        return decorator

    @setupmethod
    def app_url_value_preprocessor(self, f: F) -> F:
        """Like :meth:`Erlen.url_value_preprocessor
        <erlen.Erlen.url_value_preprocessor>`, for every request of the
        app."""
        self._on_app("url_value_preprocessors", f)
        return f

    @setupmethod
    def app_url_defaults(self, f: F) -> F:
        """Like :meth:`Erlen.url_defaults <erlen.Erlen.url_defaults>`, for
        every URL the app builds."""
        _check_sync(f, "app_url_defaults")
        self._on_app("url_default_functions", f)
        return f

    def _app_template_registration(
        self, kind: str, name_or_func: t.Any, name: str | None
    ) -> t.Any:
        """Record ``app.add_template_<kind>`` for a function given directly
        (``@bp.app_template_filter``, ``add_app_template_filter(f)``) or
        return a decorator (``@bp.app_template_filter("name")``)."""

        def register(f: t.Callable[..., t.Any], as_name: str | None) -> None:
            self.record_once(
                lambda s: getattr(s.app, f"add_template_{kind}")(f, name=as_name)
            )

        if name is not None or callable(name_or_func):
            register(name_or_func, name)
            return name_or_func

        def decorator(f: F) -> F:
            register(f, name_or_func)
            return f

        return decorator

    @t.overload
    def app_template_filter(self, name: F) -> F: ...
    @t.overload
    def app_template_filter(self, name: str | None = None) -> t.Callable[[F], F]: ...
    @setupmethod
    def app_template_filter(self, name: t.Any = None) -> t.Any:
        """Register a template filter for every template of the app, with or
        without parentheses (``@bp.app_template_filter`` or
        ``@bp.app_template_filter("name")``)."""
        return self._app_template_registration("filter", name, None)

    @setupmethod
    def add_app_template_filter(
        self, f: t.Callable[..., t.Any], name: str | None = None
    ) -> None:
        """The non-decorator form of :meth:`app_template_filter`."""
        self._app_template_registration("filter", f, name)

    @t.overload
    def app_template_test(self, name: F) -> F: ...
    @t.overload
    def app_template_test(self, name: str | None = None) -> t.Callable[[F], F]: ...
    @setupmethod
    def app_template_test(self, name: t.Any = None) -> t.Any:
        """Register a template test for every template of the app, with or
        without parentheses."""
        return self._app_template_registration("test", name, None)

    @setupmethod
    def add_app_template_test(
        self, f: t.Callable[..., bool], name: str | None = None
    ) -> None:
        """The non-decorator form of :meth:`app_template_test`."""
        self._app_template_registration("test", f, name)

    @t.overload
    def app_template_global(self, name: F) -> F: ...
    @t.overload
    def app_template_global(self, name: str | None = None) -> t.Callable[[F], F]: ...
    @setupmethod
    def app_template_global(self, name: t.Any = None) -> t.Any:
        """Register a template global for every template of the app, with or
        without parentheses."""
        return self._app_template_registration("global", name, None)

    @setupmethod
    def add_app_template_global(
        self, f: t.Callable[..., t.Any], name: str | None = None
    ) -> None:
        """The non-decorator form of :meth:`app_template_global`."""
        self._app_template_registration("global", f, name)

    # -- registration ---------------------------------------------------------

    def register(self, app: Erlen, options: dict[str, t.Any]) -> None:
        """Register on ``app``; :meth:`Erlen.register_blueprint
        <erlen.Erlen.register_blueprint>` calls this with its options (and
        a nested blueprint's parent, with ``name_prefix``, ``url_prefix``
        and ``subdomain`` already combined).

        Registration order matters: the app's hooks and templates come first,
        then each blueprint's in the order they were registered.
        """
        name = self._name_on(app, options)
        first_registration = all(bp is not self for bp in app.blueprints.values())
        app.blueprints[name] = self
        self._got_registered_once = True
        state = self.make_setup_state(app, options, first_registration)

        if self.has_static_folder:
            state.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                endpoint="static",
                view_func=self.send_static_file,
            )
        # The name is new on the app (checked above), so this registration
        # gets its own copy of the hooks even when the blueprint is registered
        # again under another name.
        self._merge_into(app, name)
        for deferred in self.deferred_functions:
            deferred(state)

        from .cli import add_blueprint_commands

        group = options.get("cli_group", self.cli_group)
        add_blueprint_commands(app.cli, self.cli, name if group is _sentinel else group)

        for child, child_options in self._blueprints:
            nested = dict(child_options, name_prefix=name)
            url_prefix = _nested_prefix(
                state.url_prefix,
                _given(child_options.get("url_prefix"), child.url_prefix),
            )
            if url_prefix is not None:
                nested["url_prefix"] = url_prefix
            subdomain = _nested_subdomain(
                state.subdomain,
                _given(child_options.get("subdomain"), child.subdomain),
            )
            if subdomain is not None:
                nested["subdomain"] = subdomain
            child.register(app, nested)

    def _name_on(self, app: Erlen, options: dict[str, t.Any]) -> str:
        """The dotted name of this registration, checked to be free on
        ``app``."""
        own_name = options.get("name", self.name)
        if "." in own_name:
            raise ValueError(
                f"The name {own_name!r} given to register the blueprint"
                f" {self.name!r} contains a dot; use '_' instead."
            )
        prefix = options.get("name_prefix", "")
        name = f"{prefix}.{own_name}" if prefix else own_name
        taken_by = app.blueprints.get(name)
        if taken_by is not None:
            which = (
                "this blueprint is already registered under it"
                if taken_by is self
                else f"a different blueprint ({taken_by!r}) is already registered"
                " under it"
            )
            raise ValueError(
                f"Cannot register the blueprint {self.name!r} as {name!r}:"
                f" {which}. To register a blueprint more than once, give each"
                f" registration its own name: register_blueprint(bp,"
                f" name='...', url_prefix='...')."
            )
        return name

    def _merge_into(self, app: Erlen, name: str) -> None:
        """Copy the blueprint's hooks, error handlers and ``endpoint()``
        views into the app's registries, keyed by ``name``."""

        def key(own_key: str | None) -> str:
            return name if own_key is None else f"{name}.{own_key}"

        for registry in _FUNCTION_REGISTRIES:
            target = getattr(app, registry)
            for own_key, funcs in getattr(self, registry).items():
                target[key(own_key)].extend(funcs)
        for own_key, by_code in self.error_handler_spec.items():
            app.error_handler_spec[key(own_key)] = defaultdict(
                dict, {code: dict(handlers) for code, handlers in by_code.items()}
            )
        for endpoint, func in self.view_functions.items():
            app.view_functions[f"{name}.{endpoint}"] = func
