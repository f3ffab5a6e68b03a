"""Serve the blog on http://127.0.0.1:5000 with the development server,
creating its database first if there is none yet.

``make run`` runs this script (``python examples/blog/serve.py``).  Python
puts this file's folder on ``sys.path``, so the ``blog`` package next to it
imports without being installed.  By hand, the same steps are::

    erlen --app blog init-db
    erlen --app blog run --debug
"""

import os

from blog import create_app
from blog.db import init_db

app = create_app()

if __name__ == "__main__":
    if not os.path.exists(app.config["DATABASE"]):
        with app.app_context():
            init_db()
        print(f" * Created the database {app.config['DATABASE']}")
    app.run(host="127.0.0.1", port=5000, debug=True)
