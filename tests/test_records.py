"""``@record`` behaves as ``@dataclass(frozen=True, slots=True)`` does, for what envkit uses."""

from __future__ import annotations

import dataclasses

import pytest

from envkit.model import GpuProcess, Unavailable
from envkit.records import record


@record
class Pair:
    name: str
    values: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class PlainPair:
    name: str
    values: tuple[int, ...] = ()


@record
class Other:
    name: str
    values: tuple[int, ...] = ()


def test_repr_reads_as_the_generated_one() -> None:
    assert repr(Pair("a", (1, 2))) == repr(PlainPair("a", (1, 2))).replace("PlainPair", "Pair")
    assert repr(Unavailable("gone", "why")) == "Unavailable(code='gone', reason='why')"


def test_equality_and_hash_are_by_value_within_one_class() -> None:
    assert Pair("a", (1,)) == Pair("a", (1,))
    assert Pair("a", (1,)) != Pair("a", (2,))
    assert hash(Pair("a", (1,))) == hash(Pair("a", (1,)))
    assert len({Pair("a"), Pair("a"), Pair("b")}) == 2
    # the same fields in another class are not equal, as with generated __eq__
    assert Pair("a") != Other("a")
    assert Pair("a") != ("a", ())
    assert (Pair("a") == PlainPair("a")) is (PlainPair("a") == Pair("a")) is False


def test_frozen_and_slotted() -> None:
    pair = Pair("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        pair.name = "b"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del pair.name  # type: ignore[misc]
    assert not hasattr(pair, "__dict__")
    assert Pair.__slots__ == ("name", "values")


def test_the_dataclass_helpers_still_work() -> None:
    process = GpuProcess(pid=7, used_memory_bytes=None, kind="compute")
    assert dataclasses.is_dataclass(process)
    assert dataclasses.replace(process, pid=8).pid == 8
    assert dataclasses.asdict(Pair("a", (1,))) == {"name": "a", "values": (1,)}
    assert Pair.__match_args__ == ("name", "values")


def test_copies_and_pickles_are_equal_and_still_frozen() -> None:
    import copy
    import pickle

    pair = Pair("a", (1, 2))
    pickled = pickle.loads(pickle.dumps(pair))  # noqa: S301 -- our own bytes, just made
    for twin in (copy.copy(pair), copy.deepcopy(pair), pickled):
        assert twin == pair and twin is not pair
        with pytest.raises(dataclasses.FrozenInstanceError):
            twin.values = ()  # type: ignore[misc]


def test_a_field_left_to_its_default_is_frozen_too() -> None:
    pair = Pair("a")  # values comes from the default
    with pytest.raises(dataclasses.FrozenInstanceError):
        pair.values = (3,)  # type: ignore[misc]


@record(many=True)
class Line:
    number: int
    text: str = ""


def test_a_class_made_by_the_thousand_behaves_the_same() -> None:
    line = Line(3, "x")
    assert repr(line) == "Line(number=3, text='x')"
    assert line == Line(3, "x") and hash(line) == hash(Line(3, "x")) and line != Pair("x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        line.number = 4  # type: ignore[misc]
    assert not hasattr(line, "__dict__") and dataclasses.replace(line, text="y").text == "y"
