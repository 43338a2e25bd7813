"""The costliest per-object checks judged ahead, by a forked process, while this one renders.

On a large repository the checks run in two processes, but rendering runs in one: the second CPU
would wait for it. Yet the two costliest checks judge one object at a time and need only the
object and what their context says (the schema store's fingerprint; for the policies also the
namespaces, plurals and scopes), not the render. So right after loading, a forked process judges
the loaded documents with them (`CHECKS`, each module's `ahead`), as if each were applied as
written, chunk by chunk from the first, while this one renders and runs every other check; then
this one judges the chunks nobody has taken yet, from the last, and takes the other's results
(marshalled plain data, as the cache keeps them). The speculated checks then run with them.

A result is used for a rendered object only when nothing it depends on can differ:
- the check's context is the one the documents were judged under (the store built from the
  loaded files has the fingerprint of the one built from the rendered repository; `agrees` stops
  the speculation at once when it does not, and the checks run as they would without it);
- the object is a document as the loader read it (wavegate.load.as_written) whose data is the
  very object that was judged (a render that changed or replaced it made another);
- what the check reads of the render agrees too (a policy: the Namespace the object lands in;
  the check looks, validators.policy).
Every other object is judged as usual, so the findings are the same with or without speculation.
"""

from __future__ import annotations

import dataclasses
import importlib
import marshal
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from wavegate.findings import Finding

if TYPE_CHECKING:
    from wavegate.load import Manifest, Repo
    from wavegate.validators import Context

# The checks judged ahead, in this order (policy reuses the schema check's defaulted objects).
CHECKS = ("schema", "policy")
# Below this many loaded documents a forked process costs more than it saves.
MIN_DOCUMENTS = 1000
# At least this share of the rendered objects must be documents as written for the speculation
# to pay (the others are judged afterwards, in this process alone).
MIN_AS_WRITTEN = 0.8
CHUNK_DOCUMENTS = 256  # documents judged and sent together


# The name of the Application a document is judged ahead as applied by: findings carry the name
# of the Application that applies their object, which only the render knows (`applied`).
APPLICATION = "\0application"


def context_key(context: tuple) -> str:
    return "\0".join(map(str, context))


def applied(findings: list[Finding], manifest: Manifest) -> list[Finding]:
    """Findings judged ahead, as judged for `manifest`: with the name of the Application that
    applies it."""
    app = getattr(manifest, "app", None)
    name = app.name if app is not None else None
    return [dataclasses.replace(f, application=name) if f.application == APPLICATION else f for f in findings]


class _Applying:
    """Stands for the Application that applies a document judged ahead (see APPLICATION)."""

    name = APPLICATION


class Speculated:
    """Each check's results: the context judged under, and the plain result of each document by
    (path, document index)."""

    def __init__(self, documents: dict[tuple[str, int], dict], checks: dict[str, tuple[str, dict]]):
        self.documents = documents  # (path, index) -> the data judged (identity)
        self.checks = checks

    def lookup(self, name: str, context: tuple) -> Callable[[Manifest], object] | None:
        """The plain result check `name` has for a rendered object under `context` (None when it
        has none that stands for this object); None when it was not judged under `context`."""
        known = self.checks.get(name)
        if known is None or known[0] != context_key(context):
            return None
        table, documents = known[1], self.documents
        from wavegate.load import as_written

        def result(manifest: Manifest):
            where = (manifest.path, manifest.doc_index)
            if documents.get(where) is not manifest.data or not as_written(manifest):
                return None
            return table.get(where)

        return result


class Speculation:
    """The forked process (`start`), the chunks of loaded documents it and this one share, and
    what was judged."""

    def __init__(self, loaded: Repo, make_context: Callable[[Repo], Context]):
        import multiprocessing

        self.loaded = loaded
        manifests = loaded.manifests
        self.chunks = [manifests[i:i + CHUNK_DOCUMENTS] for i in range(0, len(manifests), CHUNK_DOCUMENTS)]
        self.documents = {(m.path, m.doc_index): m.data for m in manifests}
        context = multiprocessing.get_context("fork")
        # The next chunk from the front (the other process's) and one past the next from the back.
        self.ends = context.Array("i", [0, len(self.chunks)])
        self.receive, send = context.Pipe(duplex=False)
        self.process = context.Process(target=_speculate, args=(self, make_context, send), daemon=True)
        self.process.start()
        send.close()
        self.fingerprint: str | None = None  # of the store the other process judges with (its first message)
        self.checks: dict[str, tuple[str, dict]] = {}
        self.judged = 0  # chunks whose results are in `checks`

    def agrees(self, repo: Repo, fingerprint: str) -> bool:
        """Whether the speculation can stand for the checks of `repo` (the rendered repository,
        whose store has `fingerprint`); when not, it is stopped."""
        if self.fingerprint is None:
            self._receive()
        as_written = sum(self.documents.get((m.path, m.doc_index)) is m.data for m in repo.manifests)
        if self.fingerprint == fingerprint and as_written >= MIN_AS_WRITTEN * len(repo.manifests):
            return True
        self.stop()
        return False

    def results(self, here: Context) -> Speculated:
        """Every chunk judged: those nobody took yet here, with `here` (a context over the loaded
        repository, with this process's store: `agrees` found it the other's), the rest by the
        other process (waiting for it). A chunk that could not be judged has no results: its
        objects are judged by the checks as usual."""
        try:
            while (index := self._take(front=False)) is not None:
                self._add(_judged(self.loaded, here, self.chunks[index]))
        except Exception:  # noqa: BLE001 - the checks judge it again and report what fails
            pass
        while self.judged < len(self.chunks) and self._receive():  # (until every chunk, or the other ended)
            pass
        self.stop()
        return Speculated(self.documents, self.checks)

    def _take(self, front: bool) -> int | None:
        with self.ends.get_lock():
            first, last = self.ends[0], self.ends[1]
            if first >= last:
                return None
            if front:
                self.ends[0] = first + 1
                return first
            self.ends[1] = last - 1
            return last - 1

    def _add(self, judged: dict[str, tuple[str, dict]]) -> None:
        for name, (key, table) in judged.items():
            known = self.checks.setdefault(name, (key, {}))
            if known[0] != key:  # (judged under two contexts: none stands)
                self.checks[name] = ("", {})
                continue
            known[1].update(table)
        self.judged += 1

    def _receive(self) -> bool:
        try:
            message = marshal.loads(self.receive.recv_bytes())
        except (EOFError, OSError, ValueError, TypeError):
            return False  # (it ended, or died: what it did not send is judged by the checks)
        if type(message) is str:
            self.fingerprint = message
        else:
            self._add(message)
        return True

    def stop(self) -> None:
        """Stop the process (again: nothing happens)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.receive.close()


def start(loaded: Repo, make_context: Callable[[Repo], Context]) -> Speculation | None:
    """A speculation over `loaded`, when it pays and this platform forks; `make_context(repo)`
    makes the checks' context for it (validators.Context with its schema store, without a render)."""
    if len(loaded.manifests) < MIN_DOCUMENTS or os.environ.get("WAVEGATE_CHECK_WORKERS", "").strip() == "1":
        return None
    for name in CHECKS:  # (imported once, here, where both processes have them: this one needs them later)
        importlib.import_module(f"wavegate.validators.{name}")
    try:
        return Speculation(loaded, make_context)
    except (ValueError, OSError):  # no fork here, or no process can start
        return None


def _judged(loaded: Repo, ctx: Context, chunk: list[Manifest]) -> dict[str, tuple[str, dict]]:
    """Each speculated check's context and results for the documents of `chunk` (each judged as a
    copy applied by an Application, `APPLICATION`)."""
    from wavegate.load import Manifest

    applying = _Applying()
    copies = []
    for manifest in chunk:
        copy = object.__new__(Manifest)  # (as the render copies a document for an Application)
        copy.__dict__.update(manifest.__dict__)
        copy.app = applying
        copies.append(copy)
    chunk = copies
    judged = {}
    for name in CHECKS:
        context, table = importlib.import_module(f"wavegate.validators.{name}").ahead(loaded, ctx, chunk)
        judged[name] = (context_key(context), table)
    return judged


def _speculate(speculation: Speculation, make_context: Callable[[Repo], Context], send) -> None:
    import queue
    import threading

    # Sent by a thread of its own: a pipe holds little, and the other process reads only once it has
    # rendered and run its own checks; the next chunk must not wait for that.
    outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()

    def sender() -> None:
        while (message := outbox.get()) is not None:
            send.send_bytes(message)

    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    try:
        loaded = speculation.loaded
        ctx = make_context(loaded)
        outbox.put(marshal.dumps(ctx.schemas.fingerprint()))  # type: ignore[attr-defined]
        while (index := speculation._take(front=True)) is not None:
            outbox.put(marshal.dumps(_judged(loaded, ctx, speculation.chunks[index])))
    except Exception:  # noqa: BLE001 - whatever it did not send is judged in the other process
        pass
    finally:
        outbox.put(None)
        thread.join()
        send.close()
