"""The bundled demo app: the seed article's slow Flask app, small enough to read."""

APP = "tunicorn.demo.app:app"
