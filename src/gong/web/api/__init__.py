"""The management REST API (FastAPI, OpenAPI at ``/openapi.json``), bearer admin token."""
