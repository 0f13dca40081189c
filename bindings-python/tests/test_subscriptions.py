"""Subscriptions: catch-up, live, cancellation and exit without close, blocking and asyncio."""

import asyncio
import gc
import subprocess
import sys
import textwrap
import threading

import pytest

import tidelog


def payloads(events):
    return [e.payload for e in events]


def take(subscription, n):
    out = []
    for event in subscription:
        out.append(event)
        if len(out) == n:
            return out
    raise AssertionError(f"subscription ended after {len(out)} of {n} events")


def test_blocking_catch_up_then_live_for_all_tag_and_stream(journal):
    journal.append("a", [tidelog.NewEvent(b"a1", tags=["t"]), b"a2"])
    journal.append("b", [tidelog.NewEvent(b"b1", tags=["t"])])
    everything = journal.subscribe_all()
    tagged = journal.subscribe_tag("t")
    stream = journal.subscribe_stream("a", 2)
    assert payloads(take(everything, 3)) == [b"a1", b"a2", b"b1"]
    assert payloads(take(tagged, 2)) == [b"a1", b"b1"]
    assert payloads(take(stream, 1)) == [b"a2"]
    assert everything.try_next_batch() == []

    def write():
        for i in range(3, 6):
            journal.append("a", [tidelog.NewEvent(b"a%d" % i, tags=["t"])])

    writer = threading.Thread(target=write)
    writer.start()
    assert payloads(take(everything, 3)) == [b"a3", b"a4", b"a5"]
    assert payloads(take(tagged, 3)) == [b"a3", b"a4", b"a5"]
    assert payloads(take(stream, 3)) == [b"a3", b"a4", b"a5"]
    writer.join()
    assert everything.position == 7
    assert stream.position == 6


def test_next_batch_honours_max_and_timeout(journal):
    for i in range(5):
        journal.append("s", b"%d" % i)
    subscription = journal.subscribe_all(2, batch_size=2)
    assert payloads(subscription.next_batch()) == [b"1", b"2"]
    assert payloads(subscription.next_batch(10)) == [b"3", b"4"]
    assert subscription.next_batch(10, timeout=0.01) == []
    assert not subscription.closed


def test_close_from_another_thread_ends_a_blocked_iteration(journal):
    subscription = journal.subscribe_tag("never")
    result = []
    started = threading.Event()

    def consume():
        started.set()
        result.extend(subscription)

    consumer = threading.Thread(target=consume)
    consumer.start()
    started.wait()
    subscription.close()
    consumer.join()
    assert result == []
    assert subscription.closed
    assert subscription.next_batch(timeout=0) == []


def test_closing_the_journal_ends_its_subscriptions(open_journal):
    journal = open_journal()
    with journal.subscribe_all() as subscription:
        journal.append("p", b"x")
        assert payloads(take(subscription, 1)) == [b"x"]
        journal.close()
        assert list(subscription) == []
        assert subscription.closed
    with pytest.raises(tidelog.ClosedError):
        journal.subscribe_all()


def test_bad_arguments_are_typed_errors(journal):
    with pytest.raises(tidelog.InvalidArgumentError):
        journal.subscribe_tag("")
    with pytest.raises(tidelog.InvalidArgumentError):
        journal.subscribe_stream("")
    with pytest.raises(TypeError):
        journal.subscribe_all("0")
    with pytest.raises(ValueError):
        journal.subscribe_all(-1)


def run(coro):
    return asyncio.run(coro)


def test_async_for_catches_up_then_goes_live(journal):
    aj = tidelog.AsyncJournal(journal)

    async def main():
        await aj.append("a", [tidelog.NewEvent(b"1", tags=["t"]), b"2"])
        seen = {"all": [], "tag": [], "stream": []}

        async def follow(name, subscription, n):
            async for event in subscription:
                seen[name].append(event.payload)
                if len(seen[name]) == n:
                    break

        consumers = [
            asyncio.ensure_future(follow("all", aj.subscribe_all(), 5)),
            asyncio.ensure_future(follow("tag", aj.subscribe_tag("t"), 4)),
            asyncio.ensure_future(follow("stream", aj.subscribe_stream("a", 2), 4)),
        ]
        await asyncio.sleep(0.01)
        for i in range(3, 6):
            await aj.append("a", [tidelog.NewEvent(b"%d" % i, tags=["t"])])
        await asyncio.gather(*consumers)
        return seen

    seen = run(main())
    assert seen["all"] == [b"1", b"2", b"3", b"4", b"5"]
    assert seen["tag"] == [b"1", b"3", b"4", b"5"]
    assert seen["stream"] == [b"2", b"3", b"4", b"5"]


def test_async_many_batches_exactly_once_in_order(journal):
    aj = tidelog.AsyncJournal(journal)

    async def main():
        subscription = aj.subscribe_all(batch_size=7)

        async def write():
            for i in range(300):
                aj.append("w", b"%d" % i)
            await aj.flush()

        writer = asyncio.ensure_future(write())
        got = []
        async for event in subscription:
            got.append(event.payload)
            if len(got) == 300:
                break
        await writer
        return got

    assert run(main()) == [b"%d" % i for i in range(300)]


def test_async_cancellation_aclose_break_and_task_cancel_free_the_subscription(journal):
    aj = tidelog.AsyncJournal(journal)

    async def main():
        # aclose() while a consumer waits: the loop ends.
        subscription = aj.subscribe_tag("never")
        consumer = asyncio.ensure_future(subscription.next_batch())
        await asyncio.sleep(0.01)
        await subscription.aclose()
        assert await consumer == []
        assert subscription.closed

        # Cancelling the awaiting task closes the subscription.
        subscription = aj.subscribe_tag("never")
        task = asyncio.ensure_future(subscription.__anext__())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert subscription.closed

        # Breaking out of the loop drops the subscription, which ends the core's.
        await aj.append("p", b"x")
        native = []
        async for event in aj.subscribe_all():
            native.append(event)
            break
        gc.collect()
        # `async with` closes on exit.
        async with aj.subscribe_all() as scoped:
            assert payloads([await scoped.__anext__()]) == [b"x"]
        assert scoped.closed

        # Closing the journal ends a waiting consumer quietly.
        waiting = aj.subscribe_tag("never")
        pending = asyncio.ensure_future(waiting.next_batch())
        await asyncio.sleep(0.01)
        await aj.close()
        assert await pending == []

    run(main())


def test_dropping_a_subscription_ends_its_pending_request(journal):
    async def main():
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        native = journal.subscribe_tag("never")
        native._next_async(loop, future, None)
        await asyncio.sleep(0.01)
        assert not future.done()
        del native
        gc.collect()
        with pytest.raises(tidelog.ClosedError):
            await future

    run(main())


def run_python(code, timeout=120):
    # The timeout only guards against a hang; the assertion is the exit status.
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("backend", ["lmdb", "memory"])
def test_a_process_that_subscribes_and_never_closes_exits(tmp_path, backend):
    result = run_python(
        f"""
        import asyncio, threading, tidelog
        journal = tidelog.Journal.open({str(tmp_path / "j")!r}, backend={backend!r})
        journal.append("p", b"one")
        # A blocking iterator waiting in a daemon thread, and one never iterated.
        blocking = journal.subscribe_all()
        idle = journal.subscribe_tag("t")
        threading.Thread(target=lambda: list(blocking), daemon=True).start()
        async def main():
            aj = tidelog.AsyncJournal(journal)
            sub = aj.subscribe_all()
            first = await sub.__anext__()
            # Leave a batch request pending, and a consumer task waiting, when main returns.
            asyncio.ensure_future(sub.__anext__())
            asyncio.ensure_future(aj.subscribe_tag("never").next_batch())
            await asyncio.sleep(0.01)
            return first.payload
        print(asyncio.run(main()))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "b'one'"


def test_a_read_only_process_follows_this_writer(tmp_path):
    path = tmp_path / "j"
    journal = tidelog.Journal.open(path, sync="always")
    journal.append("p", b"0")
    follower = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import tidelog
                journal = tidelog.Journal.open({str(path)!r}, read_only=True)
                print("ready", flush=True)
                for i, event in enumerate(journal.subscribe_all()):
                    print(event.payload.decode(), flush=True)
                    if i == 5:
                        break
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert follower.stdout.readline().strip() == "ready"
    assert follower.stdout.readline().strip() == "0"
    for i in range(1, 6):
        journal.append("p", b"%d" % i)
        assert follower.stdout.readline().strip() == str(i)
    assert follower.wait(timeout=60) == 0
    journal.close()
