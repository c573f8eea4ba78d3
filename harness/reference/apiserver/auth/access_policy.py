"""The live set of AccessRules, kept in step with the store by the watch hub's listener.

Every write publishes its event synchronously, before the write's response is sent, so a rule
applies from the first request after its create (or update) returns and stops applying once
its delete has removed it. A rule being deleted (finalizers pending) still applies until gone.
"""

from __future__ import annotations

from harness.contract.embedded import ACCESS_RULE_PLURAL, DELAY, DENY, GROUP
from harness.reference.apiserver.auth.access_rules import RESOURCE_ID, Rule, compile_rule
from harness.reference.apiserver.auth.identity import Attributes
from harness.reference.apiserver.gates import Verdict
from harness.reference.apiserver.watch import DELETED, Event, WatchHub


class AccessPolicy:
    """The `Gate` backed by AccessRule objects; `active` is False while there are none."""

    def __init__(self, hub: WatchHub, seed: int = 0) -> None:
        self._rules: dict[str, Rule] = {}
        self._ordered: tuple[Rule, ...] = ()
        self._seed = seed
        self.active = False
        hub.add_listener(self.on_event)

    def on_event(self, event: Event) -> None:
        if event.resource != RESOURCE_ID:
            return
        obj = event.entry.obj
        name = obj["metadata"]["name"]
        if event.type == DELETED:
            self._rules.pop(name, None)
        else:
            self._rules[name] = compile_rule(obj, self._seed)
        self._ordered = tuple(self._rules[key] for key in sorted(self._rules))
        self.active = bool(self._ordered)

    def judge(self, request: Attributes, verdict: Verdict) -> None:
        """Rules in name order: a matching `Delay` adds its latency; the first matching `Deny`,
        or `Fail`/`Reset` whose rate fires, answers the request. AccessRules are never touched."""
        if request.resource == ACCESS_RULE_PLURAL and request.group == GROUP:
            return
        for rule in self._ordered:
            if rule.applies(request) and rule.fires():
                verdict.add(rule.action)
                if rule.effect != DELAY:
                    return

    def denying_rule(self, request: Attributes) -> str | None:
        """The first `Deny` rule that matches, for access reviews: authorization only."""
        if request.resource == ACCESS_RULE_PLURAL and request.group == GROUP:
            return None
        for rule in self._ordered:
            if rule.effect == DENY and rule.applies(request):
                return rule.name
        return None
