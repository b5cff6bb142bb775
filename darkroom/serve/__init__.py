"""`darkroom serve`: the studio over HTTP.

    app.py      the FastAPI app: Host allow-list, Origin check, auth, security headers, JSON errors
    native.py   /api/v1: jobs (SSE events), pictures, library, models, schema, policy, verify, audit
    a1111.py    /sdapi/v1: AUTOMATIC1111's API mapped onto recipes (webuiapi works unchanged)
    users.py    users and tokens (stored hashed), project ownership
    server.py   uvicorn over one Studio; SIGTERM cancels running jobs cleanly
"""
