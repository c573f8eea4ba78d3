"""The harness's Kubernetes client: the only client-side code that talks to a Kubernetes API.

Thin over the official `kubernetes` client; objects travel as plain dicts. Reads and watches
retry transient transport errors (`retrying.py`); writes are retried only where they are
idempotent.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from harness.clients.resources import (
    FORBIDDEN,
    POD,
    UNAUTHENTICATED,
    UNREACHABLE,
    UNTRUSTED,
    Forbidden,
    Gone,
    KubeError,
    Resource,
    WatchEvent,
    WatchHandle,
)
from harness.clients.retries import is_transient, note_retry, retry_transient
from harness.config import InCluster, Settings

log = logging.getLogger("harness.clients.kubernetes_api")


# A watch call never outlives this many seconds on the server side; the client read timeout
# is a little longer so a silent connection cannot hang a test.
WATCH_SECONDS = 30


class KubeClient:
    def __init__(self, api_client: k8s.ApiClient, description: str) -> None:
        self.api_client = api_client
        self.description = description
        self.custom = k8s.CustomObjectsApi(api_client)

    @functools.cached_property
    def core(self) -> k8s.CoreV1Api:
        # Built on first use: CoreV1Api imports every core/v1 model, which is slow, and a passing
        # run on the embedded stack reads no pods or events.
        return k8s.CoreV1Api(self.api_client)

    @classmethod
    def from_kubeconfig(cls, path: Path | None, context: str | None = None) -> KubeClient:
        where = str(path) if path else "the default kubeconfig"
        configuration = k8s.Configuration()
        try:
            k8s_config.load_kube_config(
                config_file=str(path) if path else None,
                context=context,
                client_configuration=configuration,
            )
        except (ConfigException, OSError, ValueError, TypeError) as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise KubeError(f"cannot use kubeconfig {where}: {first_line}") from None
        except Exception as error:  # the YAML parser raises its own hierarchy
            raise KubeError(f"cannot read kubeconfig {where}: {type(error).__name__}") from None
        # The watches and requests of several instances at once share this pool.
        configuration.connection_pool_maxsize = 32
        return cls(k8s.ApiClient(configuration), f"{configuration.host} (kubeconfig {where})")

    @classmethod
    def in_cluster(cls, where: InCluster) -> KubeClient:
        """The pod's own identity: the service environment's API server, the mounted token
        (re-read when the kubelet rotates it) and the cluster CA."""
        configuration = k8s.Configuration()
        try:
            loader = k8s_config.incluster_config.InClusterConfigLoader(
                token_filename=str(where.token_file),
                cert_filename=str(where.ca_file),
                environ=where.environ,
            )
            loader.load_and_set(configuration)
        except (ConfigException, OSError) as error:
            raise KubeError(f"cannot use the in-cluster configuration: {error}") from None
        configuration.connection_pool_maxsize = 32
        return cls(
            k8s.ApiClient(configuration),
            f"{configuration.host} (in-cluster, service account token {where.token_file})",
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> KubeClient:
        if settings.in_cluster is not None:
            return cls.in_cluster(settings.in_cluster)
        return cls.from_kubeconfig(settings.kubeconfig, settings.kube_context)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.api_client.close()

    # --- server ---------------------------------------------------------------------------

    def check_reachable(self, retry: bool = True) -> str:
        """Return the server's gitVersion, or raise KubeError saying why it cannot be used.
        `retry=False` asks once (a watchdog's question: is it there now?)."""

        def ask() -> Any:
            return k8s.VersionApi(self.api_client).get_code(_request_timeout=10 if retry else 5)

        try:
            info = retry_transient(ask, "GET /version", attempts=3) if retry else ask()
        except ApiException as error:
            if error.status == 401:
                raise KubeError(
                    f"the Kubernetes API at {self.description} does not accept our credentials "
                    f"(HTTP 401 {_status_message(error)})",
                    UNAUTHENTICATED,
                ) from None
            if error.status == 403:
                raise KubeError(
                    f"the Kubernetes API at {self.description} refused our credentials "
                    f"(HTTP 403 {_status_message(error)})",
                    FORBIDDEN,
                ) from None
            raise KubeError(
                f"the Kubernetes API at {self.description} answered HTTP {error.status} "
                f"to GET /version"
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            reason = _reason(error)
            if "CERTIFICATE_VERIFY_FAILED" in reason:
                raise KubeError(
                    f"the Kubernetes API at {self.description} presents a certificate we do "
                    f"not trust: {reason}",
                    UNTRUSTED,
                ) from None
            raise KubeError(
                f"the Kubernetes API at {self.description} is unreachable: {reason}", UNREACHABLE
            ) from None
        return str(info.git_version)

    def server_now(self) -> datetime:
        """The API server's clock (HTTP Date header), so requests don't depend on our clock."""
        response = retry_transient(
            lambda: k8s.VersionApi(self.api_client).get_code(
                _preload_content=False, _request_timeout=10
            ),
            "GET /version (server clock)",
        )
        try:
            date = response.headers.get("Date")
        finally:
            response.release_conn()
        if not date:
            return datetime.now(UTC)
        return email.utils.parsedate_to_datetime(date).astimezone(UTC)

    def whoami(self) -> str:
        """Our own username, from a SelfSubjectReview (Kubernetes >= 1.28)."""
        review = retry_transient(
            lambda: k8s.AuthenticationV1Api(self.api_client).create_self_subject_review(
                k8s.V1SelfSubjectReview(), _request_timeout=10
            ),
            "POST selfsubjectreviews",
        )
        return str(review.status.user_info.username)

    def access_review(
        self,
        verb: str,
        group: str,
        resource: str,
        namespace: str = "",
        subresource: str = "",
        user: str | None = None,
        name: str = "",
    ) -> tuple[bool, str]:
        """Whether we (SelfSubjectAccessReview) or `user` (SubjectAccessReview) may do `verb`
        on `resource` (the object `name`, if given); returns (allowed, the server's reason)."""
        attributes = {"verb": verb, "group": group, "resource": resource}
        if namespace:
            attributes["namespace"] = namespace
        if subresource:
            attributes["subresource"] = subresource
        if name:
            attributes["name"] = name
        if user is None:
            kind, plural = "SelfSubjectAccessReview", "selfsubjectaccessreviews"
            spec: dict[str, Any] = {"resourceAttributes": attributes}
        else:
            kind, plural = "SubjectAccessReview", "subjectaccessreviews"
            spec = {"resourceAttributes": attributes, "user": user}
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": kind, "spec": spec}
        with _refusal_named():
            review = retry_transient(
                lambda: self.custom.create_cluster_custom_object(
                    "authorization.k8s.io", "v1", plural, body, _request_timeout=10
                ),
                f"POST {plural}",
            )
        status = review.get("status") or {}
        return bool(status.get("allowed")), str(status.get("reason") or "")

    def read_namespace(self, name: str) -> dict[str, Any] | None:
        """The Namespace `name`, or None when it does not exist."""
        found = self._read_or_none(
            lambda: self.core.read_namespace(name, _request_timeout=15), f"GET namespaces {name}"
        )
        return None if found is None else dict(self.api_client.sanitize_for_serialization(found))

    @staticmethod
    def _read_or_none(read: Callable[[], Any], what: str) -> Any:
        """`read()` retried while transient; None on 404; Forbidden (naming `what`) on 403."""
        try:
            return retry_transient(read, what)
        except ApiException as error:
            if error.status == 404:
                return None
            if error.status == 403:
                raise Forbidden(api_error_summary(error)) from None
            raise

    def get_cluster_scoped(self, resource: Resource, name: str) -> dict[str, Any] | None:
        return self._read_or_none(
            lambda: self.custom.get_cluster_custom_object(
                resource.group, resource.version, resource.plural, name, _request_timeout=15
            ),
            f"GET {resource.plural} {name}",
        )

    def mint_token(self, namespace: str, service_account: str, seconds: int) -> str:
        """A token for a service account through the TokenRequest API (what `kubectl create
        token` calls)."""
        request = k8s.AuthenticationV1TokenRequest(
            spec=k8s.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)
        )
        answer = self.core.create_namespaced_service_account_token(
            service_account, namespace, request, _request_timeout=15
        )
        return str(answer.status.token)

    def create_cluster_object(self, resource: Resource, body: dict[str, Any]) -> None:
        """Create a cluster-scoped object; a retry that finds its own earlier attempt stored
        (409) counts as done."""

        def attempt() -> None:
            try:
                self.custom.create_cluster_custom_object(
                    resource.group, resource.version, resource.plural, body, _request_timeout=15
                )
            except ApiException as error:
                if error.status != 409:
                    raise

        retry_transient(attempt, f"POST {resource.plural} {body['metadata']['name']}")

    def delete_cluster_object(self, resource: Resource, name: str) -> None:
        """Delete a cluster-scoped object; one already gone counts as deleted."""
        try:
            retry_transient(
                lambda: self.custom.delete_cluster_custom_object(
                    resource.group, resource.version, resource.plural, name, _request_timeout=15
                ),
                f"DELETE {resource.plural} {name}",
            )
        except ApiException as error:
            if error.status != 404:
                raise

    def impersonating(self, user: str, group: str | None = None) -> KubeClient:
        """The same server and credentials, acting as `user` (in `group`); the server checks
        that we may impersonate them."""
        api_client = k8s.ApiClient(self.api_client.configuration)
        api_client.set_default_header("Impersonate-User", user)
        if group:
            api_client.set_default_header("Impersonate-Group", group)
        return KubeClient(api_client, f"{self.description} as {user}")

    def dry_run_refusal(
        self, verb: str, resource: Resource, namespace: str, name: str, subresource: str = ""
    ) -> str | None:
        """Send `verb` (delete or patch) on one object with `dryRun=All` (nothing is stored);
        the server's words if it refused with 403, None if it would have done it."""
        custom = self.custom
        try:
            if verb == "delete":
                custom.delete_namespaced_custom_object(
                    resource.group, resource.version, namespace, resource.plural, name,
                    dry_run="All", _request_timeout=10,
                )  # fmt: skip
            elif subresource == "status":
                custom.patch_namespaced_custom_object_status(
                    resource.group, resource.version, namespace, resource.plural, name,
                    {"metadata": {}}, dry_run="All", _request_timeout=10,
                )  # fmt: skip
            else:
                custom.patch_namespaced_custom_object(
                    resource.group, resource.version, namespace, resource.plural, name,
                    {"metadata": {}}, dry_run="All", _request_timeout=10,
                )  # fmt: skip
        except ApiException as error:
            if error.status == 403:
                return api_error_summary(error)
            raise
        return None

    def served_resources(self, group: str, version: str) -> set[str] | None:
        """Plurals served under group/version, or None when the group-version is not served."""
        try:
            resources = retry_transient(
                lambda: self.custom.get_api_resources(group, version, _request_timeout=10),
                f"GET /apis/{group}/{version}",
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return {resource.name for resource in resources.resources or []}

    # --- objects --------------------------------------------------------------------------

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        return self._read_or_none(
            lambda: self.custom.get_namespaced_custom_object(
                resource.group,
                resource.version,
                namespace,
                resource.plural,
                name,
                _request_timeout=15,
            ),
            f"GET {resource.plural} {namespace}/{name}",
        )

    def list(
        self,
        resource: Resource,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
    ) -> tuple[list[dict[str, Any]], str]:
        def call() -> dict[str, Any]:
            kwargs: dict[str, Any] = {"_request_timeout": 30}
            if limit is not None:
                kwargs["limit"] = limit
            if label_selector:
                kwargs["label_selector"] = label_selector
            if field_selector:
                kwargs["field_selector"] = field_selector
            if resource == POD:
                assert namespace is not None, "pods are listed per namespace"
                response = self.core.list_namespaced_pod(
                    namespace, _preload_content=False, **kwargs
                )
                return dict(json.loads(response.data))
            if namespace is None:
                return self.custom.list_cluster_custom_object(
                    resource.group, resource.version, resource.plural, **kwargs
                )
            return self.custom.list_namespaced_custom_object(
                resource.group, resource.version, namespace, resource.plural, **kwargs
            )

        with _refusal_named():
            data = retry_transient(
                call, f"LIST {resource.plural} in {namespace or 'all namespaces'}"
            )
        return list(data.get("items", [])), str(data["metadata"].get("resourceVersion", ""))

    def collection_version(self, resource: Resource, namespace: str) -> str:
        """The collection's current resourceVersion (a one-item LIST): a watch started from it
        later replays every change made since, even to objects created in between."""
        return self.list(resource, namespace, limit=1)[1]

    def watch(
        self,
        resource: Resource,
        namespace: str | None,
        resource_version: str,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = WATCH_SECONDS,
        handle: WatchHandle | None = None,
        on_open: Callable[[], None] | None = None,
    ) -> Iterator[WatchEvent]:
        """One bounded watch call; raises Gone on 410 so the caller can re-list. `on_open` is
        called once the server has accepted the watch, before its first event."""
        kwargs: dict[str, Any] = {
            "resource_version": resource_version,
            "timeout_seconds": timeout_seconds,
            "allow_watch_bookmarks": True,
            "_request_timeout": timeout_seconds + 10,
        }
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector
        if resource == POD:
            assert namespace is not None, "pods are watched per namespace"
            func: Any = self.core.list_namespaced_pod
            args: tuple[str, ...] = (namespace,)
        elif namespace is None:
            func = self.custom.list_cluster_custom_object
            args = (resource.group, resource.version, resource.plural)
        else:
            func = self.custom.list_namespaced_custom_object
            args = (resource.group, resource.version, namespace, resource.plural)
        if handle is not None and handle.stopped:
            return
        response = func(*args, watch=True, _preload_content=False, **kwargs)
        if handle is not None:
            handle.attach(response)
        try:
            if not 200 <= response.status < 300:
                with _refusal_named():
                    raise ApiException(
                        status=response.status,
                        reason=response.reason,
                        body=response.data.decode(errors="replace"),
                    )
            if on_open is not None:
                on_open()
            for line in k8s_watch.watch.iter_resp_lines(response):
                if not line.strip():
                    continue
                event = json.loads(line)
                event_type, obj = event.get("type"), event.get("object")
                if event_type == "ERROR":
                    if isinstance(obj, dict) and obj.get("code") == 410:
                        raise Gone(obj.get("message", "resourceVersion too old"))
                    raise KubeError(f"watch of {resource.plural} failed: {obj}")
                yield WatchEvent(str(event_type), obj)
        except ApiException as error:
            if error.status == 410:
                raise Gone(str(error.reason)) from None
            raise
        except urllib3.exceptions.ProtocolError:
            if handle is not None and handle.stopped:
                return
            raise
        finally:
            response.close()
            response.release_conn()

    def create(self, resource: Resource, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create once. Not retried: a `generateName` create that timed out may have happened;
        see `create_once` for creates that carry a label unique to the attempt."""
        return self.custom.create_namespaced_custom_object(
            resource.group,
            resource.version,
            namespace,
            resource.plural,
            body,
            _request_timeout=15,
        )

    def create_once(
        self, resource: Resource, namespace: str, body: dict[str, Any], unique_selector: str
    ) -> dict[str, Any]:
        """Create despite transport errors, exactly once: before each retry, look for the
        object by `unique_selector`, a label only this attempt carries."""

        def attempt() -> dict[str, Any]:
            items, _ = self.list(resource, namespace, label_selector=unique_selector)
            return items[0] if items else self.create(resource, namespace, body)

        try:
            return self.create(resource, namespace, body)
        except Exception as error:
            if not is_transient(error):
                raise
            note_retry(f"retry of POST {resource.plural} ({error!r}) after checking it is absent")
            return retry_transient(attempt, f"POST {resource.plural} (checked)")

    def merge_patch(
        self, resource: Resource, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any]:
        """A merge patch sets absolute values, so repeating it is harmless: transient errors
        retry."""
        return retry_transient(
            lambda: self.custom.patch_namespaced_custom_object(
                resource.group,
                resource.version,
                namespace,
                resource.plural,
                name,
                patch,
                _request_timeout=15,
            ),
            f"PATCH {resource.plural} {namespace}/{name}",
        )

    def delete(self, resource: Resource, namespace: str, name: str) -> bool:
        """Delete; False when it was already gone. Idempotent, so transient errors retry."""
        try:
            retry_transient(
                lambda: self.custom.delete_namespaced_custom_object(
                    resource.group,
                    resource.version,
                    namespace,
                    resource.plural,
                    name,
                    _request_timeout=15,
                ),
                f"DELETE {resource.plural} {namespace}/{name}",
            )
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    # --- diagnostics (best effort: a None answer means not served or not allowed) ---------

    def events_about(self, namespace: str, name: str) -> list[dict[str, Any]] | None:
        """Core events whose involvedObject is `name` in `namespace`."""
        try:
            response = self.core.list_namespaced_event(
                namespace,
                field_selector=f"involvedObject.name={name}",
                _preload_content=False,
                _request_timeout=15,
            )
            return list(json.loads(response.data).get("items", []))
        except (ApiException, urllib3.exceptions.HTTPError, ValueError):
            return None

    def pods(
        self, namespace: str, label_selector: str | None = None
    ) -> list[dict[str, Any]] | None:
        try:
            items, _ = self.list(POD, namespace, label_selector)
        except (ApiException, urllib3.exceptions.HTTPError, ValueError, KubeError):
            return None
        return items

    def pod_log(self, namespace: str, name: str, since_seconds: int) -> str | None:
        """All containers' logs of a pod for the last `since_seconds`."""
        try:
            pod = self.core.read_namespaced_pod(namespace=namespace, name=name, _request_timeout=15)
            texts = []
            for container in pod.spec.containers or []:
                text = self.core.read_namespaced_pod_log(
                    name,
                    namespace,
                    container=container.name,
                    since_seconds=max(1, since_seconds),
                    timestamps=True,
                    _request_timeout=30,
                )
                texts.append(f"--- container {container.name}\n{text}")
            return "\n".join(texts)
        except (ApiException, urllib3.exceptions.HTTPError, ValueError):
            return None

    def remove_finalizers(self, resource: Resource, namespace: str, name: str) -> None:
        with contextlib.suppress(ApiException):
            self.merge_patch(resource, namespace, name, {"metadata": {"finalizers": None}})

    # --- workloads (read only: what runs the system under test) ---------------------------

    def read_deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        """A Deployment as a dict; None when absent; Forbidden when not readable."""
        found = self._read_or_none(
            lambda: k8s.AppsV1Api(self.api_client).read_namespaced_deployment(
                name, namespace, _request_timeout=15
            ),
            f"GET deployments {namespace}/{name}",
        )
        return None if found is None else dict(self.api_client.sanitize_for_serialization(found))

    def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        with _refusal_named():
            found = retry_transient(
                lambda: self.core.list_namespaced_pod(
                    namespace, label_selector=label_selector, _request_timeout=15
                ),
                f"LIST pods in {namespace}",
            )
        return list(self.api_client.sanitize_for_serialization(found).get("items") or [])


@contextlib.contextmanager
def _refusal_named() -> Iterator[None]:
    """A 403 as Forbidden in the server's words, which name the user, verb, resource and
    namespace (kube-apiserver: `User "…" cannot list resource "…" in API group "…" in the
    namespace "…"`), so a missing permission reads as one line, not a traceback."""
    try:
        yield
    except ApiException as error:
        if error.status == 403:
            raise Forbidden(api_error_summary(error)) from None
        raise


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None)
    text = str(reason or error)
    for marker in ("Connection refused", "Name or service not known", "timed out"):
        if marker in text:
            return marker.lower()
    return text.splitlines()[0][:200]


def _status_message(error: ApiException) -> str:
    """The message of a Kubernetes Status body (`Unauthorized`), else the HTTP reason."""
    try:
        body = json.loads(error.body or "{}")
    except ValueError:
        body = {}
    return str((body.get("message") if isinstance(body, dict) else None) or error.reason or "")


def api_error_summary(error: ApiException) -> str:
    """One line from a Kubernetes Status error body: code, reason and message."""
    import json

    try:
        body = json.loads(error.body or "{}")
    except ValueError:
        body = {}
    message = body.get("message") or error.reason or ""
    return f"HTTP {error.status} {body.get('reason', '')}: {message}".strip()
