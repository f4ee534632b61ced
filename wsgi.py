"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

import gc

from app import create_app

app = create_app()
# Everything built at start-up (routes, schemas, mappers, compiled statements) lives as long as
# the process: keep the cyclic garbage collector from re-scanning it on every full collection.
gc.freeze()
