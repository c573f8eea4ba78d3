"""The reference system under test: embedded API server, controller, KubeVirt and fulfillment API.

Each component is an independent program (`python -m harness.reference.<component>`) that talks
to the others only over sockets, like the real deployment. The client side reaches this package
only through `harness.reference.stack`.
"""
