"""Bearer tokens checked by the Kubernetes API, as the real deployment's Authorino does.

Each token is sent to the TokenReview API with the audiences of the real AuthConfig (contract
§11.5); an authenticated subject is an admin when it is one of the configured admin subjects.
Every caller belongs to the stack's one tenant (the tokens file of the embedded stack maps its
service accounts the same way). Answers are remembered for a few seconds, so a test's polling
does not cost a review per call; a refusal is never remembered.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error

from harness.reference.fulfillment.tokens import Identity

# The audiences of the real deployment's AuthConfig (kubernetesTokenReview).
AUDIENCES = (
    "https://kubernetes.default.svc",
    "https://kubernetes.default.svc.cluster.local",
)
CACHE_SECONDS = 10.0
REVIEW_TIMEOUT = (5, 10)


class ReviewUnavailable(RuntimeError):
    """The Kubernetes API could not say whether the token is valid; one line for the caller."""


class TokenReviewSource:
    """Identities of bearer tokens, by the Kubernetes API's TokenReview."""

    description = "TokenReview"

    def __init__(
        self,
        api_client: k8s.ApiClient,
        admins: Sequence[str],
        tenant: str,
        audiences: Sequence[str] = AUDIENCES,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = k8s.AuthenticationV1Api(api_client)
        self.admins = tuple(admins)
        self.tenant = tenant
        self.audiences = list(audiences)
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, Identity]] = {}
        self._lock = threading.Lock()

    def identify(self, token: str) -> Identity | None:
        """The token's identity, None when the API server does not authenticate it;
        `ReviewUnavailable` when it cannot be asked."""
        key = hashlib.sha256(token.encode()).hexdigest()
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] > now:
                return cached[1]
        subject = self._review(token)
        if subject is None:
            return None
        identity = Identity(subject, subject in self.admins, self.tenant)
        with self._lock:
            self._cache[key] = (now + self._cache_seconds, identity)
        return identity

    def _review(self, token: str) -> str | None:
        review = k8s.V1TokenReview(
            spec=k8s.V1TokenReviewSpec(token=token, audiences=self.audiences)
        )
        try:
            answer = self._api.create_token_review(review, _request_timeout=REVIEW_TIMEOUT)
        except ApiException as error:
            raise ReviewUnavailable(
                f"the Kubernetes API refused the TokenReview: {error.status} {error.reason}"
            ) from None
        except (Urllib3Error, OSError) as error:
            raise ReviewUnavailable(
                f"the Kubernetes API is unreachable for TokenReview: {type(error).__name__}"
            ) from None
        status = answer.status
        if status is None or not status.authenticated or status.user is None:
            return None
        return str(status.user.username or "") or None
