"""A small blog built with Erlen: the example the tutorial walks through.

``create_app`` is the application factory: ``erlen --app blog run`` finds and
calls it, and the tests call it with their own configuration.
"""

from __future__ import annotations

import os
from typing import Any

from erlen import Erlen


def create_app(test_config: dict[str, Any] | None = None) -> Erlen:
    """Create and configure the blog app.

    :param test_config: settings that replace the instance folder's
        ``config.py``; the tests pass a temporary database here.
    """
    app = Erlen(__name__, instance_relative_config=True)
    app.config.from_mapping(
        # Good enough on a laptop; a deployment sets its own in config.py.
        SECRET_KEY="dev",
        DATABASE=os.path.join(app.instance_path, "blog.sqlite"),
    )

    if test_config is None:
        # The instance folder's config.py, when there is one, holds the
        # settings that must not be committed, such as the real SECRET_KEY.
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)

    # The database lives in the instance folder, which Erlen does not create.
    os.makedirs(app.instance_path, exist_ok=True)

    from . import auth, blog, db

    db.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(blog.bp)
    # The blog's index is the site's front page: url_for("index") and
    # url_for("blog.index") both lead there.
    app.add_url_rule("/", endpoint="index")

    return app
