"""What a process remembers of the work accepted through it: by interaction, for the agent who
accepted it only, the most recent ones kept."""

from __future__ import annotations

import uuid

from router.service.accepted import AcceptedHere, HeldWork


def work(queue: str = "q") -> HeldWork:
    return HeldWork(uuid.uuid4(), queue, "chat")


def test_known_only_to_the_agent_who_accepted_it_until_forgotten() -> None:
    known = AcceptedHere(10)
    w = work()
    known.add("a01", w)
    assert known.get("a01", str(w.id)) == w
    assert known.get("a02", str(w.id)) is None, "another agent's work is not theirs to complete unread"
    assert known.forget(str(w.id)) is True
    assert known.get("a01", str(w.id)) is None
    assert known.forget(str(w.id)) is False, "forgetting twice says it was not known"


def test_the_oldest_are_forgotten_first_and_an_accept_again_counts_as_new() -> None:
    known = AcceptedHere(3)
    first, second, third, fourth = work(), work(), work(), work()
    for w in (first, second, third):
        known.add("a01", w)
    known.add("a02", first)  # accepted again (by another agent, after a requeue): the newest now
    known.add("a01", fourth)
    assert len(known) == 3
    assert known.get("a01", str(second.id)) is None, "the oldest went"
    assert known.get("a02", str(first.id)) == first and known.get("a01", str(first.id)) is None
    assert known.get("a01", str(third.id)) == third and known.get("a01", str(fourth.id)) == fourth
