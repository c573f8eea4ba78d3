"""Reference fulfillment gRPC API: public and private `ComputeInstances` over one socket.

The ComputeInstance CR in the hub namespace is the record (there is no database): Create makes the
CR the way fulfillment-service's controller does (contract §9.2), reads map the CR back to the
API (contract §10), Update patches only the CR spec (contract §11.4).

Modules: `__main__` (flags, READY line, SIGTERM), `server` (gRPC server, reflection, health, TLS),
`reflection_pool` (what reflection serves: json names on every field), `bearer_auth` (bearer
tokens, admin-only private methods), `tokens` (the tokens file), `token_review` (tokens checked
by the Kubernetes API's TokenReview, on the real control plane), `fault_interceptor` (`--fault
fulfillment:…`), `service` (the RPC methods), `spec` (API spec <-> CR spec), `masks` (update
masks), `filters` (List filters), `record` (CR -> API object), `instance_store` (Kubernetes
access), `rpc_errors` (failures as gRPC status codes).
"""
