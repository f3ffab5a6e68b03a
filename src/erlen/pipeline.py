"""The one request pipeline: match → hooks → view → response → teardown.

Both drivers call :func:`handle_request` with a request context and a
*runner* (see :mod:`erlen.concurrency`) and send the response it returns.
The pipeline never touches the server: reading it top to bottom is reading
what happens to every request, under WSGI and ASGI alike.
"""

from __future__ import annotations

import typing as t
from functools import partial

from . import signals
from .concurrency import (
    NEVER_AWAITABLE,
    AsyncRunner,
    Runner,
    call_inline,
    is_async_callable,
    resolve_inline,
    run_inline,
)
from .ctx import _PROVIDED
from .exceptions import (
    BadRequestKeyError,
    HTTPException,
    RequestRedirect,
    from_werkzeug,
)
from .security import add_security_headers
from .wrappers import Response

if t.TYPE_CHECKING:
    from .app import Erlen
    from .ctx import RequestContext
    from .wrappers import Request

__all__ = ["handle_request"]

#: What a view returns that needs no check for an awaitable.
_NEVER_AWAITABLE = NEVER_AWAITABLE | {Response}


async def handle_request(app: Erlen, ctx: RequestContext, run: Runner) -> Response:
    """Run one request through ``app`` and return the response to send.

    An exception escapes only when the app propagates exceptions (testing or
    debug mode, see ``PROPAGATE_EXCEPTIONS``); the drivers let it reach the
    server or the test client.
    """
    # PERF: one coroutine from push to pop, the view called and the response
    # made in it, and each stage the app registered nothing for skipped by
    # a test, not a call (dispatch and finalize were coroutines of their
    # own: ~0.5 us of the ~11 us of GET /, measured with the header bound
    # that came in the same change; see bench/).
    ctx.push()
    request = ctx.request
    error: BaseException | None = None
    routing_error: HTTPException | None = None
    try:
        try:
            app._got_first_request = True
            try:
                if request.url_rule is None and request.routing_exception is None:
                    app.match_request(request)  # the ASGI driver may have done it
                if request._rejected is not None:
                    # Header limits, untrusted host, cross-origin: no signal,
                    # hook or view runs for it (its error handler does).
                    raise request._rejected
                if signals.request_started.receivers:
                    signals.send(signals.request_started, app)
                rv = None
                if app.before_request_funcs or app.url_value_preprocessors:
                    rv = await preprocess(app, ctx, run)
                if rv is None:
                    # A 404, 405 or redirect, where the view would be called,
                    # is handled below as the view's error.  PERF: not raised
                    # and caught here (a raise through this coroutine: a 404
                    # took 0.78 of its time without it, 0.84 under ASGI).
                    routing_error = request.routing_exception
                    if routing_error is None:
                        view, args = view_for(app, request)
                        if run is run_inline:
                            # PERF: call_inline's work without its call: a str,
                            # dict, list, tuple, bytes or Response is never
                            # awaitable.
                            rv = view(**args)
                            if type(rv) not in _NEVER_AWAITABLE:
                                rv = resolve_inline(rv)
                        elif type(run) is AsyncRunner and is_async_callable(view):
                            # PERF: what the runner would do (await it on the
                            # loop), one coroutine frame fewer.
                            rv = await view(**args)
                        else:
                            rv = await run(view, **args)
            except Exception as e:
                rv = await app._handle_user_exception(ctx, e, run)
            if routing_error is not None:
                rv = await handle_routing_error(app, ctx, routing_error, run)
            # The security headers first: after_request functions may still
            # change them.
            response = app.make_response(rv)
            add_security_headers(app, request, response)
            if (
                ctx._after_request_functions
                or app.after_request_funcs
                or ctx._session is not None  # PERF: ctx.session_loaded, no call
            ):
                response = await process_response(app, ctx, response, run)
            if signals.request_finished.receivers:
                signals.send(signals.request_finished, app, response=response)
        except Exception as e:
            error = e
            response = await app._handle_exception(ctx, e, run)
        except BaseException as e:
            error = e
            raise
        return response
    finally:
        preserve = request._preserve_context
        if ctx._streams:
            # A stream_with_context body still needs the context: it runs
            # the teardown when the stream ends (finish_stream).
            ctx._deferred_teardown = (error, ctx._tokens[-1][1])
            ctx._pop_no_teardown(error, app_teardown=False, close_request=False)
        else:
            try:
                if (
                    app.teardown_request_funcs
                    or app.teardown_appcontext_funcs
                    or signals.request_tearing_down.receivers
                    or signals.appcontext_tearing_down.receivers
                ):
                    await teardown(app, ctx, error, run)
            finally:
                # PERF: positional (a keyword costs ~0.1 us more here)
                ctx._pop_no_teardown(error, False)  # app_teardown=False
        if preserve is not None:
            preserve(ctx)


async def preprocess(app: Erlen, ctx: RequestContext, run: Runner) -> t.Any:
    """URL value preprocessors, then ``before_request`` hooks (app first,
    then each blueprint from the outermost).  A hook's non-``None`` return
    value ends the request with it."""
    request = ctx.request
    inline = run is run_inline  # see handle_request
    names = (None, *reversed(request.blueprints))
    for name in names:
        for preprocessor in app.url_value_preprocessors.get(name, ()):
            args = (request.endpoint, request.view_args)
            if inline:
                call_inline(preprocessor, *args)
            else:
                await run(preprocessor, *args)
    for name in names:
        for func in app.before_request_funcs.get(name, ()):
            rv = call_inline(func) if inline else await run(func)
            if rv is not None:
                return rv
    return None


async def handle_routing_error(
    app: Erlen, ctx: RequestContext, e: HTTPException, run: Runner
) -> t.Any:
    """Handle the request's routing error as if the view had raised it: its
    error handler's return value; an error raised on the way has it as its
    context, as it would have had."""
    try:
        return await app._handle_user_exception(ctx, e, run)
    except Exception as raised:
        if raised is not e and raised.__context__ is None:
            raised.__context__ = e
        raise


def view_for(
    app: Erlen, request: Request
) -> tuple[t.Callable[..., t.Any], dict[str, t.Any]]:
    """The function to call for the matched rule and its keyword arguments:
    the view with the URL's values, or the automatic ``OPTIONS`` answer.
    Raises the routing error if matching failed."""
    if request.routing_exception is not None:
        raise request.routing_exception
    rule = request.url_rule
    assert rule is not None  # match_request sets rule or routing_exception
    if request.method == "OPTIONS" and rule.provide_automatic_options:
        return partial(app.make_default_options_response, request), {}
    return app.view_functions[rule.endpoint], request.view_args  # type: ignore[index,return-value]


async def finalize(
    app: Erlen,
    ctx: RequestContext,
    rv: t.Any,
    run: Runner,
    from_error_handler: bool = False,
) -> Response:
    """Turn an error handler's return value into the response to send, as
    :func:`handle_request` does a view's: add the security headers it lacks,
    then run the ``after_request`` functions and the session save.  With
    ``from_error_handler``, an error on the way is logged and the response
    sent as it is."""
    response = app.make_response(rv)
    add_security_headers(app, ctx.request, response)
    try:
        response = await process_response(app, ctx, response, run)
        if signals.request_finished.receivers:
            signals.send(signals.request_finished, app, response=response)
    except Exception:
        if not from_error_handler:
            raise
        app.logger.exception(
            "Request finalizing failed with an error while handling an error"
        )
    return response


async def process_response(
    app: Erlen, ctx: RequestContext, response: Response, run: Runner
) -> Response:
    """``after_this_request`` functions, then ``after_request`` hooks (innermost
    blueprint first, each list in reverse), then save the session if it was
    used."""
    inline = run is run_inline  # see handle_request
    for func in ctx._after_request_functions:
        response = call_inline(func, response) if inline else await run(func, response)
    for name in (*ctx.request.blueprints, None):
        for func in reversed(app.after_request_funcs.get(name, ())):
            if inline:
                response = call_inline(func, response)
            else:
                response = await run(func, response)
    if ctx.session_loaded:
        await app._save_session(ctx, response, run)
    return response


async def teardown(
    app: Erlen,
    ctx: RequestContext,
    error: BaseException | None,
    run: Runner,
    app_context: bool = True,
) -> None:
    """``teardown_request`` then ``teardown_appcontext`` functions, in reverse
    registration order.  Each runs even if another raised; their errors are
    logged.

    The ``teardown_appcontext`` functions run only when the request pushed
    its own app context (as in Flask): an app context the caller pushed
    around the request ends later, with its own teardown.
    """
    request = ctx.request
    for name in (*request.blueprints, None):
        await call_teardown_funcs(
            app, reversed(app.teardown_request_funcs.get(name, ())), error, run
        )
    if signals.request_tearing_down.receivers:
        signals.send(signals.request_tearing_down, app, exc=error)
    pushed = ctx._tokens[-1][1] if ctx._tokens else None
    if app_context and (
        pushed is _PROVIDED or (pushed is not None and len(pushed._tokens) == 1)
    ):
        await app._teardown_appcontext(error, run)


async def call_teardown_funcs(
    app: Erlen,
    funcs: t.Iterable[t.Callable[..., t.Any]],
    error: BaseException | None,
    run: Runner,
    kind: str = "teardown",
) -> None:
    """Call each of ``funcs`` with ``error``; one that raises is logged and
    the next still runs.  ``kind`` names them in the log."""
    inline = run is run_inline  # see handle_request
    for func in funcs:
        try:
            if inline:
                call_inline(func, error)
            else:
                await run(func, error)
        except Exception:
            app.logger.exception("Error in %s function %r", kind, func)


async def finish_stream(ctx: RequestContext, run: Runner) -> None:
    """A ``stream_with_context`` body ended: when it was the last one, run the
    teardown its request left to it and close the request."""
    ctx._streams -= 1
    deferred = ctx._deferred_teardown
    if ctx._streams or deferred is None:
        return
    ctx._deferred_teardown = None
    error, pushed = deferred
    app = ctx.app
    try:
        with ctx._activated():
            await teardown(app, ctx, error, run, app_context=False)
            if pushed is not None:
                await app._teardown_appcontext(error, run)
    finally:
        ctx.request.close()


async def handle_user_exception(
    app: Erlen, ctx: RequestContext, e: Exception, run: Runner
) -> t.Any:
    """Find an error handler for an exception raised by a hook or view.

    HTTP exceptions without a handler become their own response; any other
    exception without a handler is re-raised (and becomes a 500).
    """
    converted = from_werkzeug(e)
    if converted is not None:
        e = converted
    if isinstance(e, BadRequestKeyError) and (
        app.debug or app.config["TRAP_BAD_REQUEST_ERRORS"]
    ):
        e.show_exception = True
    if isinstance(e, HTTPException) and not app.trap_http_exception(e):
        if e.code is None or isinstance(e, RequestRedirect):
            return e
        handler = app._find_error_handler(e, ctx.request.blueprints)
        if handler is None:
            return e
        return await run(handler, e)
    handler = app._find_error_handler(e, ctx.request.blueprints)
    if handler is None:
        raise e
    return await run(handler, e)


async def handle_websocket(app: Erlen, ctx: RequestContext, run: Runner) -> None:
    """Run one websocket connection: match → ``before_request`` hooks → the
    ``async def`` view, then teardown.

    Before the handshake is accepted, a hook's or the view's return value (or
    an HTTP error) rejects it with that response.  After it, an unhandled
    exception closes the connection with 1011 and is logged (and propagated
    in testing, like any view's).
    """
    from .websockets import CLOSED, WebSocketDisconnect

    ws = ctx.websocket
    assert ws is not None  # the ASGI driver sets it for websocket scopes
    ctx.push()
    error: BaseException | None = None
    try:
        try:
            app.match_request(ctx.request)
            if ctx.request._rejected is not None:
                raise ctx.request._rejected
            rv = await preprocess(app, ctx, run)
            if rv is None:
                view, args = view_for(app, ctx.request)
                rv = await run(view, **args)
        except WebSocketDisconnect:
            rv = None
        except Exception as e:
            if ws.accepted:
                raise
            rv = await app._handle_user_exception(ctx, e, run)
        if not ws.accepted:
            if rv is None:
                await ws.close(1000)  # refused: the view never used it
            else:
                response = app.make_response(rv)
                add_security_headers(app, ctx.request, response)
                await ws._reject(response)
        elif ws.state != CLOSED:
            await ws.close(1000)
    except Exception as e:
        error = e
        if not ws.accepted:
            from .exceptions import InternalServerError

            await ws._reject(InternalServerError().get_response(ctx.request))
        elif ws.state != CLOSED:
            await ws.close(1011, "Internal error")
        propagate = app.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            propagate = app.testing or app.debug
        if propagate:
            raise
        app.log_exception(ctx.request, e)
    finally:
        try:
            await teardown(app, ctx, error, run)
        finally:
            ctx._pop_no_teardown(error, app_teardown=False)
