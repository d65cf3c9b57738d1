"""Tornado faces of the services: thin handlers, one routes table, the OpenAPI document."""
