"""The harness's fixtures and per-test hooks: the heavy half of the pytest plugin.

`harness.plugin.configure` registers this module from `pytest_configure`, after it has started the
embedded stack (when the session runs the suites), so that importing the Kubernetes client and
gRPC here overlaps the stack's start-up instead of preceding it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from harness.clients.drivers import ApiDriver, CrDriver, Driver
from harness.clients.fulfillment_api import ApiUnusable, FulfillmentClient, InstanceSpec
from harness.clients.kubernetes_api import KubeClient
from harness.clients.refusals import RefusalUnavailable
from harness.clients.resources import VMI, KubeError, instance_resource
from harness.clients.retries import LEDGER
from harness.config import ConfigError, Settings
from harness.contract.profiles import Profile
from harness.exitcodes import ExitCode
from harness.plugin import evidence_hooks as evidence
from harness.plugin.cleanup import (
    BackgroundCleanup,
    CleanupVerdict,
    begin_cleanup,
    finish_cleanup,
)
from harness.plugin.configure import PRESTARTED_KEY, REPORTS_KEY, SETTINGS_KEY, begin_stack
from harness.plugin.reachability_watch import ReachabilityWatch
from harness.plugin.run_hooks import environment_failed, environment_has_failed
from harness.plugin.stack_watch import StackWatch
from harness.runner.ledger import RunLedger
from harness.testkit.instance import ComputeInstanceUnderTest, HarnessContext
from harness.testkit.invariants import invariant_violations
from harness.testkit.steps import report_late_failure, step
from harness.testkit.timeline import Timeline
from harness.testkit.verdicts import history_violations

log = logging.getLogger("harness.plugin.configure")


def pytest_runtest_setup(item: pytest.Item) -> None:
    LEDGER.drain()  # retries of an earlier test's teardown are not this test's


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    item.stash.setdefault(REPORTS_KEY, {})[report.when] = report
    if report.when in ("call", "teardown"):
        retries = LEDGER.drain()
        if retries:
            report.sections.append((f"transport retries ({report.when})", "\n".join(retries)))
            report.user_properties.append(("transport_retries", len(retries)))
    return report


def _not_ready(session: pytest.Session, message: str) -> None:
    text = f"environment not ready: {message}"
    # In an xdist worker, a session asked to stop is how the controller learns to stop cleanly;
    # an exit alone, with a test in progress, reads to xdist as a crashed worker (INTERNALERROR).
    session.shouldstop = text
    pytest.exit(text, returncode=int(ExitCode.ENVIRONMENT_NOT_READY))


@pytest.fixture(scope="session")
def harness_settings(pytestconfig: pytest.Config) -> Settings:
    return pytestconfig.stash[SETTINGS_KEY]


def _preflight(settings: Settings, kube: KubeClient, api: FulfillmentClient | None) -> None:
    profile = settings.profile
    version = kube.check_reachable()
    served = kube.served_resources(profile.group, profile.version)
    if served is None or profile.plural not in served:
        raise KubeError(
            f"the Kubernetes API at {kube.description} (version {version}) does not serve "
            f"{profile.crd_name}: is the operator's CRD installed, and is --profile "
            f"{profile.name} the right era?"
        )
    kubevirt = kube.served_resources(VMI.group, VMI.version)
    if kubevirt is None or VMI.plural not in kubevirt:
        raise KubeError(
            f"the Kubernetes API at {kube.description} does not serve KubeVirt "
            f"{VMI.plural}.{VMI.group}: is KubeVirt installed?"
        )
    kube.list(instance_resource(profile), settings.namespace)
    if api is not None:
        api.check_usable()


@pytest.fixture(scope="session")
def harness_context(
    request: pytest.FixtureRequest, harness_settings: Settings
) -> Iterator[HarnessContext]:
    """Connections to the system under test, proven usable; the embedded stack if asked (already
    starting when `harness.plugin.configure` began it at configure time)."""
    settings = harness_settings
    stack = None
    watch: StackWatch | ReachabilityWatch | None = None
    if settings.embedded:
        from harness.reference.stack import StackError

        stack = request.config.stash.get(PRESTARTED_KEY, None) or begin_stack(
            request.config, settings
        )
        try:
            settings = replace(
                settings.connected_to(stack.start()), state_dir=stack.options.state_dir
            )
        except (StackError, ConfigError) as error:
            _not_ready(request.session, f"the embedded stack did not start: {error}")
        config = request.config
        watch = StackWatch(stack, lambda message: environment_failed(config, message)).start()
    try:
        try:
            kube = KubeClient.from_settings(settings)
            api = FulfillmentClient(settings) if settings.via == "api" else None
            _preflight(settings, kube, api)
        except (KubeError, ApiUnusable) as error:
            _not_ready(request.session, str(error))
        if not settings.embedded:
            probes: list[Callable[[], object]] = [lambda: kube.check_reachable(retry=False)]
            if api is not None:
                probes.append(lambda: api.check_usable(retry=False))
            config = request.config
            watch = ReachabilityWatch(
                probes, lambda message: environment_failed(config, message)
            ).start()
        yield HarnessContext(
            settings=settings, kube=kube, api=api, driver=_driver(settings, kube, api)
        )
        if watch is not None:
            watch.stop()
            watch = None
        if api is not None:
            api.close()
        kube.close()
    finally:
        if watch is not None:
            watch.stop()
        if stack is not None:
            stack.stop()


def _driver(settings: Settings, kube: KubeClient, api: FulfillmentClient | None) -> Driver:
    if api is not None:
        return ApiDriver(api, InstanceSpec().template)
    assert settings.tenant is not None, "settings validation requires a tenant for --via cr"
    return CrDriver(kube, settings.profile, settings.namespace, settings.tenant)


@pytest.fixture(scope="session")
def via(harness_settings: Settings) -> str:
    """`api` or `cr`: how this run asks for restarts."""
    return harness_settings.via


@pytest.fixture(scope="session")
def profile(harness_settings: Settings) -> Profile:
    return harness_settings.profile


@pytest.fixture
def server_now(harness_context: HarnessContext) -> Callable[[], datetime]:
    """The API server's clock, whole seconds (restart times never depend on the runner's)."""
    from harness.contract.timestamps import truncate_to_second

    return lambda: truncate_to_second(harness_context.kube.server_now())


@pytest.fixture
def quiet_window(harness_settings: Settings) -> float:
    """How long a negative test watches for a restart that must not happen."""
    return harness_settings.quiet_window


@pytest.fixture
def future_offset(harness_settings: Settings) -> int:
    """Seconds ahead for a future-dated request: longer than a VMI takes to come back, so the
    replacement is provably created before the requested moment."""
    return 4 if harness_settings.embedded else int(min(180, harness_settings.restart_timeout / 2))


@pytest.fixture
def can_refuse_requests(harness_context: HarnessContext) -> None:
    """The server can be made to refuse one request to everyone but the harness: the embedded
    API server's AccessRule, or a ValidatingAdmissionPolicy the harness may create."""
    try:
        harness_context.refusals.mechanism()
    except RefusalUnavailable as error:
        pytest.skip(f"cannot arrange a refused request here: {error}")


@pytest.fixture
def provision_timeout(harness_settings: Settings) -> float:
    return harness_settings.provision_timeout


@pytest.fixture
def restart_timeout(harness_settings: Settings) -> float:
    return harness_settings.restart_timeout


@pytest.fixture(scope="session")
def background_cleanup(
    pytestconfig: pytest.Config, run_ledger: RunLedger
) -> Iterator[BackgroundCleanup]:
    """Waits for passing tests' deletions while the next test runs (see harness/plugin/cleanup.py);
    drained before the run ledger's leak sweep, which is why it depends on the ledger."""
    cleanup = BackgroundCleanup()
    yield cleanup
    if environment_has_failed(pytestconfig):
        cleanup.abandon("the environment failed")
        return
    report_late_leaks(cleanup.drain())


def report_late_leaks(verdicts: list[CleanupVerdict]) -> None:
    """A leak found after its test's teardown had passed: a second teardown report for that
    test, so the run fails and names it (terminal, JUnit, summary.json), and a failed Allure
    result of its own (the test's result was already written)."""
    now = time.time()
    for verdict in verdicts:
        item: pytest.Item = verdict.owner
        message = "cleanup left objects behind (found after the test, while the next one ran): "
        message += "; ".join(verdict.leaks)
        report_late_failure(item.nodeid, item.nodeid.split("::")[0], item.name, message)
        report = pytest.TestReport(
            nodeid=item.nodeid,
            location=item.location,
            keywords=dict.fromkeys(item.keywords, 1),
            outcome="failed",
            longrepr=message,
            when="teardown",
            start=now,
            stop=now,
            user_properties=[("late_cleanup_verdict", True)],
        )
        item.ihook.pytest_runtest_logreport(report=report)


@pytest.fixture
def compute_instance(
    request: pytest.FixtureRequest,
    harness_context: HarnessContext,
    provision_timeout: float,
    run_ledger: RunLedger,
    background_cleanup: BackgroundCleanup,
) -> Iterator[Callable[..., ComputeInstanceUnderTest]]:
    """Factory: an instance created through the API (or as a CR with `--via cr`), by default
    provisioned and Running; always deleted afterwards, also when the test fails.

    `wait`: "running" (phase running + Running VMI), "stopped" (a Halted instance), "cr" (the
    CR exists), "none". `restart_requested_at` is sent with the create itself."""
    created: list[ComputeInstanceUnderTest] = []
    evidence.track(request.node, created)

    def make(
        spec: InstanceSpec | None = None,
        wait: str = "running",
        restart_requested_at: datetime | None = None,
    ) -> ComputeInstanceUnderTest:
        __tracebackhide__ = True
        timeline = Timeline()
        context = harness_context
        if isinstance(context.driver, ApiDriver):
            driver = ApiDriver(
                context.driver.api.bound(timeline.record_call), context.driver.template
            )
            context = replace(context, driver=driver)
        instance = ComputeInstanceUnderTest(
            context, spec or InstanceSpec(), timeline, run_ledger.labels_for(request.node.nodeid)
        )
        created.append(instance)
        run_ledger.record(request.node.nodeid, instance)
        with step(f"create an instance ({context.via})"):
            instance.create(restart_requested_at)
        if wait != "none":
            with step(f"wait until provisioned ({wait})"):
                if wait == "running":
                    instance.wait_provisioned(provision_timeout)
                elif wait == "stopped":
                    instance.wait_stopped(provision_timeout)
                elif wait == "cr":
                    instance.wait_cr(provision_timeout)
        return instance

    yield make

    if environment_has_failed(request.config):
        # The objects went with the environment; a dead API would only be retried at length.
        for instance in created:
            instance.stop_watching()
        return
    reports = request.node.stash.get(REPORTS_KEY, {})
    failed = any(report.failed for report in reports.values())
    evidence.diagnose_before_cleanup(request.node)
    with step("check the recorded history"):
        violations = [
            violation
            for instance in created
            for violation in history_violations(instance) + invariant_violations(instance)
        ]
    if failed:
        run_ledger.mark_failed(request.node.nodeid)
    keep = run_ledger.keeps(request.node.nodeid)
    report_late_leaks(background_cleanup.finished())
    with step("clean up" if not keep else "clean up (objects kept: --keep-on-failure)"):
        leaks = [leak for instance in created if (leak := begin_cleanup(instance, not keep))]
        if failed or keep or leaks or violations:
            leaks += [
                leak
                for instance in created
                if (leak := finish_cleanup(instance, provision_timeout, wait=not keep))
            ]
        else:  # the wait for the deletion overlaps the next test; its verdict stays this test's
            background_cleanup.submit(request.node, created, provision_timeout)
    if violations and not failed:
        pytest.fail(
            "the recorded history breaks the contract: " + "; ".join(violations), pytrace=False
        )
    if leaks and not failed:
        pytest.fail("cleanup left objects behind: " + "; ".join(leaks), pytrace=False)
