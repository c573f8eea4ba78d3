"""Reference fulfillment gRPC API: public and private `ComputeInstances` over one socket.

The ComputeInstance CR in the hub namespace is the record (there is no database): Create makes the
CR the way fulfillment-service's controller does (contract.md section 9), reads map the CR back
to the API (section 10), Update patches only the CR spec (section 11.4).

Modules: `cli` (flags, READY line, SIGTERM), `server` (gRPC server, reflection, health, TLS),
`auth` (bearer tokens, admin-only private methods), `tokens` (the tokens file), `service`
(the RPC methods), `spec` (API spec <-> CR spec), `masks` (update masks), `record` (CR -> API
object), `store` (Kubernetes access), `errors` (failures as gRPC status codes).
"""
