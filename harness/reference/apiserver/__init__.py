"""Embedded Kubernetes API server (aiohttp), faithful enough for the official client and kopf.

Run as `python -m harness.reference.apiserver`. Layers, bottom up: `store` (objects, one global
resourceVersion), `watch` (event window and watchers), `schema`/`cel` (CRD validation),
`registry` (resource types and discovery), `objects` (the API semantics), `gc` (background
cleanup), `app` (HTTP). See /work/shared/docs/embedded-apiserver.md for the required semantics.
"""
