"""The OpenAPI document against the application: every route is in it with its methods, the
status codes it answers with and schemas that resolve; and what the routes really answer (a
walk over every route with and without a proper token) is what the document says."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from starlette.routing import Mount, Route
from service_helpers import CARD, env, home_template  # noqa: F401  (fixtures)

from center.service.models import Problem


@pytest.fixture
def doc_and_app(env):
    app = env.app()
    client = env.client("admin")
    doc = client.get("/openapi.json").json()
    return doc, app


def _resolve(doc: dict, ref: str) -> dict:
    assert ref.startswith("#/components/schemas/"), ref
    name = ref.rsplit("/", 1)[1]
    assert name in doc["components"]["schemas"], f"{ref} does not resolve"
    return doc["components"]["schemas"][name]


def _refs(node) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if "$ref" in node else []) + \
            [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _routes(app) -> list[APIRoute]:
    """Every API route of ``app``: its own and those of the routers it includes (FastAPI keeps
    an included router whole, as ``original_router``, in recent versions)."""
    out = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif hasattr(route, "original_router"):
            out += [r for r in route.original_router.routes if isinstance(r, APIRoute)]
        else:
            assert isinstance(route, (Mount, Route)), f"a route this test cannot walk: {route}"
    return out


def test_every_route_is_in_the_document_with_its_methods(doc_and_app):
    doc, app = doc_and_app
    routes = _routes(app)
    assert len(routes) >= 25
    for route in routes:
        assert route.path in doc["paths"], route.path
        for method in route.methods:
            assert method.lower() in doc["paths"][route.path], f"{method} {route.path}"
    documented = {(p, m.upper()) for p, ops in doc["paths"].items() for m in ops}
    served = {(r.path, m) for r in routes for m in r.methods}
    assert documented == served  # nothing documented that is not served


def test_every_operation_names_its_status_codes_and_schemas(doc_and_app):
    doc, app = doc_and_app
    for route in _routes(app):
        for method in route.methods:
            op = doc["paths"][route.path][method.lower()]
            codes = set(op["responses"])
            assert str(route.status_code or 200) in codes or "303" in codes, route.path
            for code in route.responses:
                assert str(code) in codes, f"{method} {route.path} lacks {code}"
            for ref in _refs(op):
                _resolve(doc, ref)
            if route.path.startswith("/v1") and route.response_model is not None:
                content = op["responses"][str(route.status_code or 200)]["content"]
                assert "schema" in content["application/json"], route.path
            if route.path.startswith("/v1"):
                for code in {c for c in codes if c.startswith(("4", "5"))}:
                    schema = op["responses"][code]["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Problem"}


def test_request_bodies_are_documented(doc_and_app):
    doc, _ = doc_and_app
    bodies = {("/v1/cards/{card}", "put"): "ReportIn",
              ("/v1/cards/{card}/reinstate", "post"): "ReinstateIn",
              ("/v1/cards/{card}/token", "post"): "TokenIn",
              ("/v1/operators", "post"): "OperatorIn"}
    for (path, method), model in bodies.items():
        body = doc["paths"][path][method]["requestBody"]
        ref = body["content"]["application/json"]["schema"]["$ref"]
        schema = _resolve(doc, ref)
        assert ref.endswith(model) and schema["additionalProperties"] is False
    reason = _resolve(doc, "#/components/schemas/ReportIn")["properties"]["reason"]
    assert reason["enum"] == ["stolen", "lost", "fraud", "other"]
    for path in ("/ui/report", "/ui/reinstate", "/ui/login", "/ui/logout"):
        form = doc["paths"][path]["post"]["requestBody"]["content"]
        assert "csrf" in form["application/x-www-form-urlencoded"]["schema"]["properties"]


def test_the_bearer_scheme_is_declared_on_the_api(doc_and_app):
    doc, app = doc_and_app
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for route in _routes(app):
        if route.path.startswith("/v1"):
            for method in route.methods:
                assert doc["paths"][route.path][method.lower()]["security"] == \
                    [{"HTTPBearer": []}], route.path


def _walk(env):
    """(method, path template, response) for a request to every API route, as a client with
    the right role, a wrong role and no token."""
    token = {"valid_until": "2027-01-01"}
    samples = [
        ("PUT", "/v1/cards/{card}", f"/v1/cards/{CARD}", {"reason": "lost"}),
        ("GET", "/v1/cards/{card}", f"/v1/cards/{CARD}", None),
        ("POST", "/v1/cards/{card}/token", f"/v1/cards/{CARD}/token", token),
        ("POST", "/v1/cards/{card}/reinstate", f"/v1/cards/{CARD}/reinstate", {}),
        ("POST", "/v1/cards/{card}/reinstate", f"/v1/cards/{CARD}/reinstate", {}),  # 404 now
        ("POST", "/v1/cards/{card}/token", f"/v1/cards/{CARD}/token", token),
        ("GET", "/v1/cards", "/v1/cards?limit=5", None),
        ("GET", "/v1/cards", "/v1/cards?limit=0", None),
        ("GET", "/v1/stats", "/v1/stats", None),
        ("GET", "/v1/history", "/v1/history", None),
        ("GET", "/v1/air", "/v1/air", None),
        ("GET", "/v1/schedule", "/v1/schedule", None),
        ("GET", "/v1/audit", "/v1/audit?limit=3", None),
        ("GET", "/v1/bundles", "/v1/bundles?epoch=1&seq=0", None),
        ("GET", "/v1/operators", "/v1/operators", None),
        ("POST", "/v1/operators", "/v1/operators", {"name": "x1", "role": "auditor"}),
        ("DELETE", "/v1/operators/{name}", "/v1/operators/x1", None),
        ("GET", "/v1/whoami", "/v1/whoami", None),
        ("GET", "/healthz", "/healthz", None),
    ]
    for role in ("admin", "terminal", None):
        client = env.client(role)
        for method, template, path, body in samples:
            yield method, template, client.request(method, path, json=body)


def test_what_the_routes_answer_is_what_the_document_says(env):
    app = env.app()
    doc = env.client().get("/openapi.json").json()
    models = {(r.path, m): r.response_model for r in _routes(app) for m in r.methods}
    seen = set()
    for method, template, response in _walk(env):
        op = doc["paths"][template][method.lower()]
        code = str(response.status_code)
        assert code in op["responses"], f"{method} {template} answered {code}, undocumented"
        seen.add((template, code))
        if response.status_code >= 400:
            Problem.model_validate(response.json())
        elif response.headers["content-type"] == "application/json":
            model = models[(template, method)]
            TypeAdapter(model).validate_python(response.json())
    assert {code for _, code in seen} >= {"200", "201", "400", "401", "403", "404", "409",
                                          "503"}
