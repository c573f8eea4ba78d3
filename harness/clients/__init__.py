"""The client side's connections: the only code of the harness that speaks a protocol.

`kubernetes_api` (the Kubernetes API, official client), `fulfillment_api` (the fulfillment gRPC
API), `webhooks` (the operator's provisioning webhooks, as the operator POSTs to them),
`resources` (the resource vocabulary, importable without the client library), `retries`
(transport trouble only, never an answer) and `drivers` (`--via api` or `--via cr`). A new call
to a cluster or an API goes here.
"""
