"""The HTTP API: FastAPI app factory, routes, schemas, auth, limits, metrics and the widget's files."""
