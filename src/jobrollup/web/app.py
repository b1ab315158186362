"""The application factory and the failures every page shares."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask import Flask, render_template, request
from pymongo.errors import OperationFailure, PyMongoError

from .. import config
from ..exits import MongoUnavailable
from ..query import QueryError
from ..store.mongo import MongoStore, redact

log = logging.getLogger("jobrollup.web")

HTTP_BAD_QUESTION, HTTP_MONGO_DOWN, HTTP_FAILED = 400, 503, 500


@dataclass
class Settings:
    """What the pages read: the store, the exit-code dictionary, the models folder, and a fixed
    `now` for tests and replays (None: the clock)."""

    store: MongoStore
    default_source: str = "fwjr"
    exit_codes: str | None = None
    models_dir: str = "var/models"
    now: dt.datetime | None = None

    def moment(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.timezone.utc)


def settings() -> Settings:
    from flask import current_app

    return current_app.extensions["jobrollup"]


def create_app(store: MongoStore, **options) -> Flask:
    """The web view over `store` (Settings fields as keyword options)."""
    from . import errors, explore, overview, render, runs, spack

    app = Flask(__name__)
    app.extensions["jobrollup"] = Settings(store, **options)
    for page in (overview, explore, errors, runs, spack):
        app.register_blueprint(page.blueprint)
    render.register_filters(app)

    @app.context_processor
    def _database():
        return {"database": f"{redact(store.uri)} / {store.database}"}

    @app.errorhandler(QueryError)
    @app.errorhandler(config.ConfigError)
    def _bad_question(error):
        return _failure("This question cannot be answered", str(error), HTTP_BAD_QUESTION)

    @app.errorhandler(OperationFailure)
    def _refused(error):
        return _failure("MongoDB refused the question", _first_line(error), HTTP_BAD_QUESTION)

    @app.errorhandler(MongoUnavailable)
    @app.errorhandler(PyMongoError)
    def _mongo_down(error):
        return _failure("MongoDB is unreachable", _first_line(error), HTTP_MONGO_DOWN, banner=True)

    @app.errorhandler(Exception)
    def _unexpected(error):
        from werkzeug.exceptions import HTTPException

        if isinstance(error, HTTPException):
            return error
        log.exception("unexpected failure on %s", request.path)
        return _failure("Unexpected failure", f"{type(error).__name__}: {_first_line(error)} "
                        "(the server's log has the details)", HTTP_FAILED)

    return app


def _failure(title: str, message: str, status: int, banner: bool = False):
    return render_template("failure.html", title=title, message=message, banner=banner), status


def _first_line(error: Exception) -> str:
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return text.split(" (configured timeouts")[0].split(", Timeout:")[0][:300]
