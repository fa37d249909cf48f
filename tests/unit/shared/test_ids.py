"""Random UUIDs from the buffered randomness: version 4, never repeated, not shared by a fork."""

from __future__ import annotations

import os
import uuid

from shared.ids import new_uuid


def test_ids_are_random_version_4_uuids() -> None:
    ids = [new_uuid() for _ in range(2_000)]  # several refills of the buffer

    assert len(set(ids)) == len(ids)
    assert {i.version for i in ids} == {4}
    assert {i.variant for i in ids} == {uuid.RFC_4122}


def test_a_forked_child_does_not_repeat_its_parents_next_ids() -> None:
    new_uuid()  # the buffer now holds ids the parent has yet to hand out
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child process
        os.close(reader)
        os.write(writer, new_uuid().bytes)
        os._exit(0)
    os.close(writer)
    from_child = uuid.UUID(bytes=os.read(reader, 16))
    os.close(reader)
    os.waitpid(child, 0)

    parents = {new_uuid() for _ in range(300)}

    assert from_child not in parents
