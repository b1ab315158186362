"""A page's question from its URL and back: the parameters are bin/query's options (`from`,
`to`, `w`, `m`, `by`, `sort`, `limit`, `exact`, `source`), so a URL reproduces the view and
turns into the `bin/query` command that prints the same answer."""

from __future__ import annotations

import datetime as dt
import shlex
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from .. import query as queries
from .. import sources
from ..query import QueryError


def _list(args, name: str) -> list[str]:
    """Every non-empty value of a repeated parameter."""
    return [v.strip() for v in args.getlist(name) if v.strip()]


def _limit(text: str | None) -> int | None:
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise QueryError(f"limit must be a whole number, not {text!r}") from None
    if value < 1:
        raise QueryError("limit must be 1 or more")
    return value


def _source(name: str, choices: tuple[str, ...]) -> str:
    if name not in choices:
        raise QueryError(f"unknown source {name!r}: choose one of {', '.join(choices)}")
    return name


@dataclass(frozen=True)
class Explore:
    """The explore page's question (bin/query without --errors)."""

    source: str = "fwjr"
    start: str = "7 days ago"
    end: str = "now"
    where: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ("count",)
    by: tuple[str, ...] = ()
    sort: str = ""
    limit: int | None = None
    exact: bool = False
    suggest: str = ""

    @classmethod
    def from_args(cls, args, default_source: str = "fwjr") -> "Explore":
        """Read the URL; only what it cannot even hold is refused here (a limit that is no
        number); the rest is judged by the query library, as bin/query judges its options."""
        return cls(source=_source(args.get("source") or default_source, sources.aggregating_names()),
                   start=(args.get("from") or "").strip() or cls.start, end=(args.get("to") or "").strip() or cls.end,
                   where=tuple(_list(args, "w")), metrics=tuple(_list(args, "m")) or cls.metrics,
                   by=tuple(_list(args, "by")), sort=(args.get("sort") or "").strip(),
                   limit=_limit(args.get("limit")), exact=args.get("exact") in ("1", "on", "true"),
                   suggest=(args.get("suggest") or "").strip())

    @property
    def definition(self) -> sources.Source:
        return sources.get(self.source)

    def query(self, now: dt.datetime) -> queries.Query:
        question = queries.query(start=self.start, end=self.end, where=self.where, metrics=self.metrics,
                                 by=self.by, partial="refuse" if self.exact else "widen",
                                 source=self.source, now=now)
        if self.sort and self.sort not in question.axes + question.columns:
            raise QueryError(f"sort {self.sort!r}: choose one of {', '.join(question.axes + question.columns)}")
        return question

    def params(self) -> list[tuple[str, str]]:
        out = [("source", self.source), ("from", self.start), ("to", self.end)]
        out += [("w", w) for w in self.where] + [("m", m) for m in self.metrics] + [("by", b) for b in self.by]
        out += [(k, v) for k, v in (("sort", self.sort), ("limit", str(self.limit or "")),
                                    ("exact", "1" if self.exact else ""), ("suggest", self.suggest)) if v]
        return out

    def url(self, path: str = "/explore", **changes) -> str:
        return f"{path}?{urlencode((replace(self, **changes) if changes else self).params())}"

    def command(self) -> str:
        """The bin/query command printing the same answer."""
        words = ["bin/query", "--source", self.source, "--from", self.start, "--to", self.end]
        for w in self.where:
            words += ["-w", w]
        if self.by:
            words += ["--by", ",".join(self.by)]
        words += ["-m", ",".join(self.metrics)]
        if self.sort:
            words += ["--sort", self.sort]
        if self.limit:
            words += ["--limit", str(self.limit)]
        if self.exact:
            words.append("--exact")
        return " ".join(shlex.quote(w) for w in words)


@dataclass(frozen=True)
class Errors:
    """The error-kinds page's question (bin/query --errors)."""

    source: str = "fwjr"
    start: str = "7 days ago"
    end: str = "now"
    where: tuple[str, ...] = ()
    by: tuple[str, ...] = ()
    precision: str = ""          # every tier, each range from the finest holding it; or one tier
    limit: int | None = 20

    @classmethod
    def from_args(cls, args) -> "Errors":
        clustered = tuple(n for n in sources.names() if sources.get(n).error_scope)
        return cls(source=_source(args.get("source") or cls.source, clustered),
                   start=(args.get("from") or "").strip() or cls.start, end=(args.get("to") or "").strip() or cls.end,
                   where=tuple(_list(args, "w")), by=tuple(_list(args, "by")),
                   precision=(args.get("precision") or cls.precision).strip(),
                   limit=_limit(args.get("limit")) if args.get("limit") is not None else cls.limit)

    def params(self) -> list[tuple[str, str]]:
        out = [("source", self.source), ("from", self.start), ("to", self.end)]
        out += [("w", w) for w in self.where] + [("by", b) for b in self.by]
        out += [("precision", self.precision)] if self.precision else []
        return out + ([("limit", str(self.limit))] if self.limit else [])

    def url(self, path: str = "/errors", **changes) -> str:
        return f"{path}?{urlencode((replace(self, **changes) if changes else self).params())}"

    def command(self) -> str:
        words = ["bin/query", "--errors", "--source", self.source, "--from", self.start, "--to", self.end]
        for w in self.where:
            words += ["-w", w]
        if self.by:
            words += ["--by", ",".join(self.by)]
        if self.precision:
            words += ["--precision", self.precision]
        if self.limit:
            words += ["--limit", str(self.limit)]
        return " ".join(shlex.quote(w) for w in words)
