"""The class table and the coarse groups, checked against the class names."""

from collections import Counter

import pytest

from core.imagenet import (
    GROUPS,
    ImageNetClass,
    by_index,
    by_name,
    by_wnid,
    classes,
    group_of,
)


def _group_by_name(name: str) -> str:
    matches = [c for c in classes() if c.name == name]
    assert len(matches) == 1, name
    return group_of(matches[0].index)


def test_table_has_1000_unique_classes():
    table = classes()
    assert len(table) == 1000
    assert [c.index for c in table] == list(range(1000))
    assert len({c.wnid for c in table}) == 1000
    assert len({c.name for c in table}) == 1000
    assert classes() is table  # loaded once


def test_lookups():
    assert by_index(0) == ImageNetClass(0, "n01440764", "tench")
    assert by_wnid("n01443537") == by_index(1)
    assert by_wnid("n00000000") is None
    with pytest.raises(IndexError):
        by_index(1000)


def test_by_name_is_forgiving_but_never_guesses():
    assert by_name("great white shark").index == 2
    assert by_name("Great_White_Shark").index == 2
    assert by_name("Cardigan").index == 264  # the corgi, exact case
    assert by_name("cardigan").index == 474  # the sweater, exact case
    assert by_name("CARDIGAN") is None  # ambiguous once case is ignored
    assert by_name("unicorn") is None


def test_every_class_has_exactly_one_known_group_and_groups_are_sizeable():
    counts = Counter(group_of(i) for i in range(1000))
    assert set(counts) == set(GROUPS)
    assert len(GROUPS) == len(set(GROUPS))
    assert 10 <= len(GROUPS) <= 15
    assert min(counts.values()) >= 10, counts


@pytest.mark.parametrize("word", ["terrier", "retriever", "spaniel", "hound", "poodle", "setter", "schnauzer"])
def test_dog_breeds_are_dogs(word):
    named = [c for c in classes() if word in c.name.lower()]
    assert named
    assert {group_of(c.index) for c in named} == {"dogs"}


@pytest.mark.parametrize("group, names", [
    ("fish", ["goldfish", "tench", "great white shark", "stingray", "puffer", "eel"]),
    ("birds", ["robin", "bald eagle", "flamingo", "king penguin", "toucan", "goose", "ostrich"]),
    ("amphibians & reptiles", ["bullfrog", "axolotl", "box turtle", "Komodo dragon", "green mamba"]),
    ("invertebrates", ["tarantula", "ladybug", "monarch", "jellyfish", "Dungeness crab", "snail"]),
    ("other mammals", ["tabby", "lion", "zebra", "giant panda", "gorilla", "koala", "killer whale", "red fox"]),
    ("vehicles", ["sports car", "school bus", "airliner", "canoe", "fire engine", "mountain bike", "submarine"]),
    ("instruments & devices", ["acoustic guitar", "violin", "laptop", "cellular telephone", "hammer", "rifle"]),
    ("clothing & accessories", ["jean", "cowboy hat", "sunglasses", "running shoe", "kimono", "backpack"]),
    ("household objects", ["teapot", "bathtub", "toaster", "studio couch", "vase", "frying pan"]),
    ("sports & leisure", ["soccer ball", "tennis ball", "dumbbell", "ski", "teddy"]),
    ("structures & scenes", ["church", "castle", "suspension bridge", "volcano", "seashore", "barn"]),
    ("food & plants", ["pizza", "banana", "broccoli", "cheeseburger", "strawberry", "daisy", "mushroom"]),
])
def test_representative_classes(group, names):
    assert {name: _group_by_name(name) for name in names} == {name: group for name in names}


def test_group_of_rejects_bad_index():
    with pytest.raises(IndexError):
        group_of(-1)
