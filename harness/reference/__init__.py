"""The reference system under test: embedded API server, controller, simulated KubeVirt,
fulfillment API and provisioning webhook (`apiserver`, `controller`, `kubevirt`, `fulfillment`,
`webhook`).

Each component is an independent program (`python -m harness.reference.<component>`) that talks
to the others only over sockets, like the real deployment. `stack` starts them in order and
hands back connection settings; the client side reaches this package only through it. Shared
by the components: `runtime` (READY line, logging, signals), `process` and `forking` (starting
one as a child process), `component_client` (the official client, informers), `workqueue`,
`tls` (a throw-away CA), `installation` (the objects a cluster would show about its
installation) and `crds` (the CRD files the API server loads).
"""
