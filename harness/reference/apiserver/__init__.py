"""Embedded Kubernetes API server (aiohttp), faithful enough for the official client and kopf.

It behaves the way kube-apiserver does for what the harness and the reference components use:
optimistic concurrency on one global resourceVersion, watches that resume from a
resourceVersion, CRD structural schemas with CEL rules, finalizers and ownerReference garbage
collection, and `kind: Status` errors with the real codes, reasons and messages.
docs/embedded-stack.md describes it within the stack; README.md here lists its flags, the
behaviour worth knowing and what it leaves out.

Run as `python -m harness.reference.apiserver` (`__main__`); tests start it with `testing`.
Layers, bottom up:

- storage: `object_store` (immutable versions, one global resourceVersion) and `watch` (the
  event window for replay, live watchers);
- object rules: `object_meta`, `selectors`, `patch`, `status_errors`, and `schema/` (CRD
  structural schemas, validation, CEL rules, OpenAPI documents);
- `registry` (resource types and discovery), `verbs` (`ResourceVerbs`: get, list, watch,
  create, update, patch, delete with the server's rules), `garbage_collector` (ownerReference
  GC, CRD and namespace teardown);
- `auth/` (tokens and identities, authentication, impersonation, AccessRules, access and
  self-subject reviews, TokenRequest) on `request_info` (a request's RBAC attributes); `gates`
  (what a request gate does to a request) with `fault_injector` (`--fault` specs);
- `media_types` and `kube_protobuf` (request bodies, `Accept`, protobuf);
- `core` (`ApiServer`: one instance without HTTP), then `routes`, `http_front` (the aiohttp
  handler: HTTPS, authentication, then the gates) and `request_log`.
"""
