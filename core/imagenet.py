"""The 1000 ImageNet classes and a dozen coarse groups for colouring and filtering plots.

Groups are derived from the class index order, which follows WordNet (dogs are 151-268, the
artifacts 398-915...), so a few index ranges do most of the work; the artifact block is refined
by explicit index lists because WordNet orders it alphabetically rather than by kind.
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Iterable

_TSV = Path(__file__).parent / "resources" / "imagenet_classes.tsv"
_N_CLASSES = 1000

Span = int | tuple[int, int]
"""One index, or an inclusive (first, last) range of indices."""


@dataclass(frozen=True)
class ImageNetClass:
    """One ImageNet-1k class: its model output index, WordNet id and readable name."""

    index: int
    wnid: str
    name: str


FISH = "fish"
BIRDS = "birds"
HERPS = "amphibians & reptiles"
INVERTEBRATES = "invertebrates"
DOGS = "dogs"
MAMMALS = "other mammals"
VEHICLES = "vehicles"
DEVICES = "instruments & devices"
CLOTHING = "clothing & accessories"
HOUSEHOLD = "household objects"
SPORTS = "sports & leisure"
STRUCTURES = "structures & scenes"
FOOD = "food & plants"

GROUPS: tuple[str, ...] = (
    FISH, BIRDS, HERPS, INVERTEBRATES, DOGS, MAMMALS,
    VEHICLES, DEVICES, CLOTHING, HOUSEHOLD, SPORTS, STRUCTURES, FOOD,
)
"""Coarse groups in display order: living things first, then things people make, then food and nature."""

_BROAD: tuple[tuple[str, tuple[Span, ...]], ...] = (
    (FISH, ((0, 6), (389, 397))),
    (BIRDS, ((7, 24), (80, 100), (127, 146))),
    (HERPS, ((25, 68),)),
    (INVERTEBRATES, ((69, 79), (107, 126), (300, 329))),
    (DOGS, ((151, 268),)),
    (MAMMALS, ((101, 106), (147, 150), (269, 299), (330, 388))),
    (HOUSEHOLD, ((398, 922), 999)),
    (FOOD, ((923, 969), (984, 998))),
    (STRUCTURES, ((970, 980),)),
    (SPORTS, ((981, 983),)),
)
"""Contiguous WordNet blocks; together they cover every index exactly once."""

_REFINED: tuple[tuple[str, tuple[Span, ...]], ...] = (
    (VEHICLES, (
        403, 404, 405, 407, 408, 436, 444, 450, 466, 468, 472, 475, 479, 484, 510, 511, 535, 537,
        547, 554, 555, 561, 565, 569, 573, 575, 576, 581, 586, 595, 603, 609, 612, 625, 627, 628,
        654, 656, 660, 661, 665, 670, 671, 675, 686, 690, 694, 705, 717, 724, 734, 751, 757, 779,
        780, 785, 802, 803, 812, 814, 817, 820, 829, 833, 847, 856, 864, 866, 867, 870, 871, 874,
        880, 895, 908, 913, 914,
    )),
    (DEVICES, (
        # musical instruments
        401, 402, 420, 432, 486, 494, 513, 541, 542, 546, 558, 566, 577, 579, 593, 594, 641, 642,
        683, 684, 687, 699, 776, 822, 875, 881, 889, 902,
        # electronics, clocks, optics, measuring and lab gear
        398, 409, 426, 438, 447, 480, 481, 482, 485, 487, 508, 527, 528, 530, 531, 571, 590, 592,
        598, 604, 605, 613, 620, 622, 632, 633, 635, 650, 662, 664, 673, 681, 685, 688, 704, 707, 712,
        713, 732, 742, 745, 754, 755, 759, 761, 769, 778, 782, 798, 807, 810, 818, 823, 826, 835,
        844, 845, 848, 851, 872, 878, 886, 892,
        # tools, locks, weapons
        413, 456, 471, 477, 488, 491, 506, 507, 517, 553, 583, 587, 596, 600, 621, 657, 674, 677,
        695, 714, 726, 730, 740, 744, 763, 764, 777, 783, 784, 787, 792,
    )),
    (CLOTHING, (
        399, 400, 411, 414, 433, 439, 443, 445, 451, 452, 457, 459, 461, 464, 465, 474, 490, 496,
        501, 502, 514, 515, 518, 524, 529, 552, 560, 568, 570, 578, 584, 597, 601, 608, 610, 614,
        615, 617, 630, 636, 638, 639, 643, 652, 655, 658, 667, 676, 678, 679, 689, 691, 697, 715,
        735, 748, 770, 774, 775, 793, 796, 801, 806, 808, 824, 834, 836, 837, 841, 842, 869, 887,
        893, 903, 906, 982,
    )),
    (SPORTS, (
        416, 417, 422, 429, 430, 476, 522, 543, 574, 602, 611, 672, 693, 701, 702, 722, 723, 736,
        746, 747, 752, 758, 768, 795, 797, 800, 805, 843, 850, 852, 890, 917, 918,
    )),
    (STRUCTURES, (
        406, 410, 415, 421, 424, 425, 437, 442, 449, 454, 458, 460, 467, 483, 489, 497, 498, 500,
        509, 525, 536, 538, 540, 557, 562, 580, 582, 624, 634, 637, 640, 645, 646, 649, 663, 668,
        682, 698, 703, 706, 708, 716, 718, 727, 743, 762, 781, 788, 789, 799, 819, 821, 825, 832,
        839, 853, 854, 858, 860, 863, 865, 873, 877, 884, 888, 900, 912, 915, 919, 920,
    )),
    (INVERTEBRATES, (599, 815)),
)
"""Explicit indices that override the broad blocks, mostly inside the alphabetical artifact block."""


def _expand(spans: Iterable[Span]) -> list[int]:
    """Turn spans into the list of indices they cover."""
    out: list[int] = []
    for span in spans:
        first, last = (span, span) if isinstance(span, int) else span
        out.extend(range(first, last + 1))
    return out


@cache
def classes() -> tuple[ImageNetClass, ...]:
    """All 1000 classes in model output order, read once from the bundled table."""
    text = _TSV.read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines()[1:] if line.strip()]
    table = tuple(ImageNetClass(int(i), wnid, name) for i, wnid, name in rows)
    if [c.index for c in table] != list(range(_N_CLASSES)):
        raise RuntimeError(f"{_TSV.name} must list indices 0..{_N_CLASSES - 1} in order")
    return table


@cache
def _wnid_index() -> dict[str, ImageNetClass]:
    return {c.wnid: c for c in classes()}


def by_wnid(wnid: str) -> ImageNetClass | None:
    """The class with this WordNet id, or None when it is not one of the 1000."""
    return _wnid_index().get(wnid)


def _folded(name: str) -> str:
    """Case-insensitive form where underscores stand for spaces, as in folder names."""
    return " ".join(name.replace("_", " ").split()).casefold()


@cache
def _exact_names() -> dict[str, ImageNetClass]:
    return {c.name: c for c in classes()}


@cache
def _name_index() -> dict[str, ImageNetClass | None]:
    """Folded name -> class; None marks a folded name shared by two classes (Cardigan/cardigan)."""
    index: dict[str, ImageNetClass | None] = {}
    for c in classes():
        key = _folded(c.name)
        index[key] = None if key in index else c
    return index


def by_name(name: str) -> ImageNetClass | None:
    """The class with this name (exact, else case-insensitive with '_' for ' '), or None if unknown or ambiguous."""
    return _exact_names().get(name) or _name_index().get(_folded(name))


def by_index(index: int) -> ImageNetClass:
    """The class at this model output index (IndexError outside 0..999)."""
    if not 0 <= index < _N_CLASSES:
        raise IndexError(f"ImageNet class index {index} is outside 0..{_N_CLASSES - 1}")
    return classes()[index]


@cache
def _group_table() -> tuple[str, ...]:
    """One group per index: broad blocks first, then the refinements on top."""
    groups: list[str | None] = [None] * _N_CLASSES
    for group, spans in _BROAD + _REFINED:
        for index in _expand(spans):
            groups[index] = group
    missing = [i for i, g in enumerate(groups) if g is None]
    if missing:
        raise RuntimeError(f"ImageNet indices without a coarse group: {missing[:10]}")
    return tuple(g for g in groups if g is not None)


def group_of(index: int) -> str:
    """The coarse group (one of GROUPS) of the class at this index."""
    by_index(index)
    return _group_table()[index]
