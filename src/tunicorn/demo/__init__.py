"""The bundled demo apps: the seed article's slow Flask app, and its ASGI twin (FastAPI)."""

APP = "tunicorn.demo.app:app"
ASGI_APP = "tunicorn.demo.asgi:app"
DEMOS = {"flask": APP, "fastapi": ASGI_APP}
DEMO_NAMES = {"asgi": "fastapi", "wsgi": "flask", "flask": "flask", "fastapi": "fastapi"}
