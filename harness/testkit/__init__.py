"""What suites speak: the instance under test, its recorded history, waits and expectations.

A suite creates an instance (`instance`), acts on it, waits on its timeline (`waits`, and the
instance's `wait_*`) and judges what was recorded with `expectations` (`assert_*`, each naming
its contract clause). Timelines are fed by watches (`watchers`, `timeline`); `history` reads
them without a cluster. A new wait, expectation or builder goes here. Kept light: importing
this package loads no client library.
"""
