import threading

from harness.reference.workqueue import WorkQueue


def test_dedup_while_waiting():
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert len(queue) == 2
    assert queue.get(timeout=1) == "a"
    assert queue.get(timeout=1) == "b"
    assert queue.get(timeout=0.01) is None


def test_key_in_processing_is_not_handed_out_twice_and_requeued_on_done():
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    assert queue.get(timeout=1) == "a"
    queue.add("a")  # arrives while "a" is being processed
    assert queue.get(timeout=0.05) is None
    queue.done("a")
    assert queue.get(timeout=1) == "a"
    queue.done("a")
    assert queue.get(timeout=0.01) is None


def test_add_after_keeps_the_earliest_deadline():
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 30)
    queue.add_after("a", 0.05)
    queue.add_after("a", 20)
    assert queue.get(timeout=2) == "a"  # 0.05 s won over 20 s and 30 s
    queue.done("a")
    assert queue.get(timeout=0.1) is None


def test_rate_limited_backoff_doubles_from_5ms_and_forget_resets():
    queue: WorkQueue[str] = WorkQueue()
    delays = []
    for _ in range(4):
        delays.append(queue.add_rate_limited("a"))
        assert queue.get(timeout=2) == "a"
        queue.done("a")
    assert delays == [0.005, 0.01, 0.02, 0.04]
    assert queue.failures("a") == 4
    queue.forget("a")
    assert queue.backoff("a") == 0.005


def test_backoff_is_capped():
    queue: WorkQueue[str] = WorkQueue(max_delay=1000)
    for _ in range(30):
        queue._failures["a"] = queue._failures.get("a", 0) + 1
    assert queue.backoff("a") == 1000


def test_shutdown_releases_waiting_workers():
    queue: WorkQueue[str] = WorkQueue()
    results = []
    worker = threading.Thread(target=lambda: results.append(queue.get()))
    worker.start()
    queue.shutdown()
    worker.join(2)
    assert not worker.is_alive()
    assert results == [None]
