"""The OpenAPI 3.1 document of the machine API, built from the endpoints' declarations
(`api.spec`) and their answers' schemas (`api.schemas`); served at `/api/v1/openapi.json`
and committed as `docs/openapi.json` by `python -m api.openapi` (which knows the endpoints;
this module takes them as an argument, so `api.endpoints` can serve the document)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.schemas import ANSWERS, SCHEMAS, columns
from api.spec import CSV, JSON, NDJSON, Endpoint

PROBLEM_RESPONSE = {
    "description": "a problem (RFC 9457) with one sentence saying what is wrong",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
NOT_MODIFIED = {
    "description": "`If-None-Match` named the answer's current `ETag`: nothing changed, no "
    "body (the call is audited like an answer, with 0 rows)",
    "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
}
HEADERS = {
    "ETag": {
        "description": "a strong validator of this answer (a digest of its tenant, format and "
        "body): send it back as `If-None-Match` to get 304 while the answer is unchanged",
        "schema": {"type": "string"},
    },
    "Next-Cursor": {
        "description": "the `cursor` of the next page; absent on the last page",
        "schema": {"type": "string"},
    },
    "Export-Manifest": {
        "description": "on a CSV answer when the installation has a signing key: the signed "
        "export manifest of this call's audit row (SHA-256, rows, filters, who, when), base64 "
        "of its JSON; `python -m ingest verify-export` checks the CSV against it offline "
        "(docs/evidence.md)",
        "schema": {"type": "string"},
    },
    "Link": {
        "description": '`<URL>; rel="next"`: this call\'s path and parameters with the next '
        "page's `cursor`, relative to the server; absent on the last page",
        "schema": {"type": "string"},
    },
}
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "the `ETag` of a copy the caller holds: 304 without a body while it is "
    "still the answer",
    "schema": {"type": "string"},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _content(endpoint: Endpoint) -> dict[str, Any]:
    """Each format's schema: JSON the answer's, CSV and NDJSON text made of its rows."""
    answer, row = ANSWERS[endpoint.operation_id]
    content: dict[str, Any] = {}
    for media in endpoint.formats:
        if media == JSON:
            content[media] = {"schema": _ref(answer)}
        elif media == CSV and row:
            header = ",".join(columns(row))
            content[media] = {
                "schema": {
                    "type": "string",
                    "description": f"RFC 4180 CSV with the header `{header}`, one {row} a "
                    "line; cells a spreadsheet would run as formulas start with `'`",
                }
            }
        elif media == NDJSON and row:
            content[media] = {
                "schema": {"type": "string", "description": f"one {row} JSON object a line"},
                "x-itemSchema": _ref(row),  # OpenAPI 3.2's itemSchema, for tools that read it
            }
        else:
            content[media] = {"schema": {"type": "string"}}
    return content


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    parameters = [
        {
            "name": p.name,
            "in": p.where,
            "required": p.where == "path" or p.required,
            "description": p.description,
            "schema": p.schema(),
            **({"style": "form", "explode": True} if p.repeatable else {}),
        }
        for p in endpoint.params
        if p.where in ("query", "path")
    ]
    validated = endpoint.method == "GET" and endpoint.access != "health"
    headers: dict[str, Any] = {}
    if validated:
        parameters.append(IF_NONE_MATCH)
        headers["ETag"] = {"$ref": "#/components/headers/ETag"}
    if any(p.name == "cursor" for p in endpoint.params):
        headers["Next-Cursor"] = {"$ref": "#/components/headers/Next-Cursor"}
        headers["Link"] = {"$ref": "#/components/headers/Link"}
    if CSV in endpoint.formats:
        headers["Export-Manifest"] = {"$ref": "#/components/headers/Export-Manifest"}
    ok: dict[str, Any] = {"description": endpoint.responses.get(200, "the answer")}
    if headers:
        ok["headers"] = headers
    ok["content"] = _content(endpoint)
    responses: dict[str, Any] = {"200": ok}
    if validated:
        responses["304"] = NOT_MODIFIED
    responses["400"] = PROBLEM_RESPONSE
    responses["401"] = PROBLEM_RESPONSE
    responses["429"] = {
        **PROBLEM_RESPONSE,
        "description": "too many calls from this token, or too many refused "
        "calls from this token name or address; `Retry-After` says when to retry",
    }
    if endpoint.access == "admin":
        responses["403"] = PROBLEM_RESPONSE
    if any(p.name == "tenant" for p in endpoint.params):
        responses["404"] = {
            **PROBLEM_RESPONSE,
            "description": "no such tenant, or one this token may not read (one answer for both)",
        }
    for status, text in endpoint.responses.items():
        if status != 200:
            schema = ANSWERS[endpoint.operation_id][0] if status == 503 else "Problem"
            media = JSON if status == 503 else "application/problem+json"
            responses[str(status)] = {
                "description": text,
                "content": {media: {"schema": _ref(schema)}},
            }
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "parameters": parameters,
        "responses": responses,
        "security": [{"metricsToken": []}] if endpoint.access == "health" else [{"apiToken": []}],
    }
    body = [p for p in endpoint.params if p.where == "body"]
    if body:
        operation["requestBody"] = {
            "required": True,
            "content": {
                JSON: {
                    "schema": {
                        "type": "object",
                        "properties": {
                            p.name: {**p.schema(), "description": p.description} for p in body
                        },
                        "required": [p.name for p in body if p.required],
                        "additionalProperties": False,
                    }
                }
            },
        }
    return operation


def openapi_document(endpoints: Sequence[Endpoint], version: str) -> dict[str, Any]:
    """OpenAPI 3.1 for `endpoints`, built from their declarations."""
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Mimecast search logs: machine API",
            "version": version,
            "description": "Read-only views of the stored archive search logs (the "
            "dashboard's numbers), health, readiness and metrics. Every /api/v1 call needs "
            "a bearer token from `python -m ingest token create`. A token reads one tenant (one "
            "Mimecast account); a platform token names the tenant of each call with "
            "`?tenant=` when there are several.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiToken": {"type": "http", "scheme": "bearer"},
                "metricsToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "METRICS_TOKEN; not needed on loopback while it is unset",
                },
            },
            "headers": HEADERS,
            "schemas": SCHEMAS,
        },
    }
