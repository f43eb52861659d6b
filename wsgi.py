"""The WSGI entry point for gunicorn and ``flask --app wsgi``."""

from admin import create_app

app = create_app()
