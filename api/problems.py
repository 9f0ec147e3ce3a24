"""Errors as RFC 9457 problem details: a status, a title and one sentence saying what
happened and what to do. Never a traceback, never part of a body."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

PROBLEM_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class ApiProblem(Exception):
    """Raised anywhere while answering a call; becomes a problem-details response."""

    def __init__(
        self, status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(problem: ApiProblem, instance: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
        **problem.extra,
    }
    if instance:
        body["instance"] = instance
    return JSONResponse(
        body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_TYPE
    )
