"""Property-based requests against the OpenAPI schema (schemathesis): no 5xx, no schema violations."""

from __future__ import annotations

import re

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from darkroom import Studio
from darkroom.serve.app import ServerConfig, create_app

# Everything but the calls that run jobs (a valid recipe may be minutes of work); job creation
# is covered by test_serve.py with real recipes.
CORE = re.compile(r"^/(api/v1/(models|samplers|upscalers|detectors|schema|policy|prompt|pictures|jobs|audit|verify"
                  r"|inputs)|sdapi/v1/(sd-models|options|samplers|schedulers|upscalers|latent-upscale-modes|scripts"
                  r"|png-info|progress))")
RUNS_JOBS = {("POST", "/api/v1/jobs")}


def test_core_endpoints_never_fail_on_the_server(tiny_model):
    studio = Studio()
    app = create_app(studio, ServerConfig(allowed_hosts=("testserver",)))  # the ASGI test client's name
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    checked = []
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            if not CORE.match(operation.path) or (operation.method.upper(), operation.path) in RUNS_JOBS:
                continue

            @given(case=operation.as_strategy())
            @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def check(case):
                # random bytes are schema-valid uploads but no picture: a 4xx there is right
                case.call_and_validate(excluded_checks=[positive_data_acceptance])

            check()
            checked.append(f"{operation.method.upper()} {operation.path}")
    finally:
        studio.shutdown()
    assert len(checked) >= 25, checked
