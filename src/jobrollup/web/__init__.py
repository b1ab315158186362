"""The read-only web view (bin/serve): the pages operators look at, over the same library as
bin/query. Flask (Jinja2 templates, an in-process test client), charts drawn server-side as SVG
by jobrollup.query.plots, nothing loaded from another host.

- app:      the application factory, the store it reads, and what a failure looks like
            (a bad question: 400 with the message on the page; MongoDB down: 503 and a banner);
- form:     a page's question from its URL (the same words as bin/query's options) and back
            into a URL and a `bin/query` command;
- render:   tables and charts of an answer (numbers formatted as bin/query prints them);
- overview, explore, errors, runs, spack: one module per page.

The app never writes: it calls only reading methods of the store.
"""

from .app import create_app

__all__ = ["create_app"]
