"""A tiny kopf operator for the API server's end-to-end check (run with `kopf run --standalone`).

Create and update handlers record what they saw in status; the delete handler (which makes kopf
put its finalizer on every object) posts an Event before kopf releases the object.
"""

import kopf

GROUP, VERSION, PLURAL = "contract.osac.test", "v1", "widgets"


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: object) -> None:
    settings.watching.server_timeout = 30
    settings.watching.client_timeout = 40
    settings.posting.level = 0


@kopf.on.create(GROUP, VERSION, PLURAL)
def created(spec: kopf.Spec, **_: object) -> dict[str, int]:
    return {"size": spec["size"]}


@kopf.on.update(GROUP, VERSION, PLURAL)
def updated(spec: kopf.Spec, **_: object) -> dict[str, int]:
    return {"size": spec["size"]}


@kopf.on.delete(GROUP, VERSION, PLURAL)
def deleted(body: kopf.Body, **_: object) -> None:
    kopf.info(body, reason="KopfDeleted", message="delete handler ran")
