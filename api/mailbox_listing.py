"""`GET /api/v1/mailboxes` and `GET /api/v1/mailboxes/{addr}/searches`: whose mailbox was
searched (`db.targets`, the Mailboxes page's functions), with the searches' filters."""

from __future__ import annotations

from api.calls import Answer, Call, audit_filters, dumps, records, search_filters
from api.paging import MAX_PAGE, decode_cursor, encode_cursor
from api.problems import ApiProblem
from api.spec import CSV, NDJSON, Param
from db import raw_reads, targets
from db.csv_export import to_csv
from db.raw_reads import Keyset

M_BY = Param(
    "by",
    "enum",
    "rank by `searches` or by distinct `searchers`",
    choices=("searches", "searchers"),
    default="searches",
)
M_TOP = Param("limit", "integer", "mailboxes to list", minimum=1, maximum=MAX_PAGE, default=100)
M_ADDR = Param("addr", "string", "the mailbox's address (any case)", where="path")
M_LIMIT = Param("limit", "integer", "searches per page", minimum=1, maximum=MAX_PAGE, default=100)


def mailboxes(call: Call) -> Answer:
    """The most-searched mailboxes of the period (`db.targets.top_mailboxes`)."""
    filters = search_filters(call)
    by = call.values.get("by") or M_BY.default
    limit = call.values.get("limit") or M_TOP.default
    frame = targets.top_mailboxes(call.engine, filters, call.tz, limit=limit, by=by)
    if call.media == CSV:
        body = to_csv(frame).encode("utf-8")
    else:
        body = dumps(
            {
                "from": filters.start.isoformat(),
                "to": filters.end.isoformat(),
                "tz": call.tz,
                "by": by,
                "mailboxes": records(frame),
            }
        )
    return Answer(
        body,
        call.media,
        rows=len(frame),
        target="mailboxes",
        filters=audit_filters(filters, call.tz, by=by, limit=limit),
    )


MAILBOXES_NOT_ON_CLICKHOUSE = (
    "not available on ClickHouse yet: the mailboxes a search names are read from the SQL "
    "tables only (see docs/clickhouse.md)"
)


def mailbox_searches(call: Call) -> Answer:
    """Every search that targeted one mailbox, newest first, keyset-paged."""
    if call.on_clickhouse:  # the targets are read from the SQL tables only
        raise ApiProblem(501, MAILBOXES_NOT_ON_CLICKHOUSE)
    mailbox = targets.normalise_mailbox(call.values["addr"])
    filters = search_filters(call)
    cursor = call.values.get("cursor")
    keyset = (
        decode_cursor(cursor, call.scope)
        if cursor
        else Keyset(raw_reads.newest_search_id(call.engine, call.scope))
    )
    if not targets.known_mailbox(call.engine, call.scope, mailbox):
        raise ApiProblem(404, f"no such mailbox: no stored search targeted {mailbox[:200]!r}")
    limit = call.values.get("limit") or M_LIMIT.default
    frame, following = targets.mailbox_keyset_rows(
        call.engine, filters, call.tz, mailbox, keyset, limit=limit
    )
    next_cursor = encode_cursor(following, call.scope) if following else None
    headers = {"Next-Cursor": next_cursor} if next_cursor else {}
    if call.media == CSV:
        body = to_csv(frame).encode("utf-8")
    elif call.media == NDJSON:
        body = b"".join(dumps(row) + b"\n" for row in records(frame))
    else:
        body = dumps({"mailbox": mailbox, "searches": records(frame), "next_cursor": next_cursor})
    return Answer(
        body,
        call.media,
        rows=len(frame),
        target=mailbox,
        filters=audit_filters(filters, call.tz, cursor=cursor, limit=limit),
        headers=headers,
    )
