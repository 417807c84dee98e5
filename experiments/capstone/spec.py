"""The typed specification of one capstone run: a network, a trainer, a schedule and data.

A :class:`Spec` says everything that defines a run of the zoo's capstone recipe
(``helpers.zoo.capstone_recipe``): :meth:`Spec.settings` is the recipe's flat settings dict (the part of the
zoo's cache key the run defines) and :attr:`Spec.epochs` its ``(quick, full)`` epochs. A field left ``None``
is absent from the settings (the recipe's default: Wong et al.'s CNN, ReLU, no dropout, no averaging, no
shifts, ...), so that a spec's cache key is the one its run was trained under.

A spec is made from its parent by naming what changes (:func:`derive`); :func:`differences` lists the
field paths (``"trainer.beta"``) in which two specs differ, so "one idea changed" can be checked.
Units: ``eps`` is L-inf in the units of images in [0, 1]; learning rates per optimiser step; ``epochs`` in
passes over the training split; ``shift_pixels`` in pixels per axis.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, kw_only=True)
class Network:
    """The untrained network (``helpers.zoo.build_capstone_network``).

    ``width``: channels and units times this (a whole number for Wong et al.'s CNN); ``architecture``:
    ``None`` (Wong et al.'s CNN) or ``"trades_smallcnn"`` (TRADES' MNIST CNN); ``activation``: ``None``
    (ReLU) or ``"silu"``; ``dropout``: ``None`` (none) or the rate in [0, 1) between the dense layers.
    """

    width: float
    architecture: str | None = None
    activation: str | None = None
    dropout: float | None = None

    def __post_init__(self):
        _check(_number(self.width) and self.width > 0, f"Network: width must be a number > 0, got {self.width!r}")
        _check(self.architecture in (None, "trades_smallcnn"),
               f"Network: architecture must be None (Wong et al.'s CNN) or 'trades_smallcnn', got "
               f"{self.architecture!r}")
        _check(self.activation in (None, "silu"),
               f"Network: activation must be None (ReLU) or 'silu', got {self.activation!r}")
        _check(self.dropout is None or (_number(self.dropout) and 0 <= self.dropout < 1),
               f"Network: dropout must be None or a rate in [0, 1), got {self.dropout!r}")


@dataclass(frozen=True, kw_only=True)
class Trainer:
    """The adversarial training (``helpers.training.AdversarialTrainer``'s arguments).

    ``method``: ``"fgsm"``, ``"fast"``, ``"pgd"``, ``"trades"`` or ``"mart"``; ``eps``: L-inf radius in (0, 1];
    ``steps``: the inner attack's steps (>= 1); ``mix``: the adversarial share of the loss in [0, 1];
    optional (``None``: the trainer's default): ``beta`` (TRADES' and MART's weight, >= 0), ``step_ratio`` (the
    attack step over the current eps), ``awp_gamma`` (adversarial weight perturbation's size, >= 0),
    ``early_stopping`` (keep the epoch with the best PGD-20 accuracy).
    """

    method: str
    eps: float
    steps: int
    mix: float
    beta: float | None = None
    step_ratio: float | None = None
    awp_gamma: float | None = None
    early_stopping: bool | None = None

    def __post_init__(self):
        methods = ("fgsm", "fast", "pgd", "trades", "mart")
        _check(self.method in methods, f"Trainer: method must be one of {', '.join(methods)}, got {self.method!r}")
        _check(_number(self.eps) and 0 < self.eps <= 1, f"Trainer: eps must be in (0, 1], got {self.eps!r}")
        _check(isinstance(self.steps, int) and not isinstance(self.steps, bool) and self.steps >= 1,
               f"Trainer: steps must be an integer >= 1, got {self.steps!r}")
        _check(_number(self.mix) and 0 <= self.mix <= 1, f"Trainer: mix must be in [0, 1], got {self.mix!r}")
        for field in ("beta", "step_ratio", "awp_gamma"):
            value = getattr(self, field)
            _check(value is None or (_number(value) and value >= 0),
                   f"Trainer: {field} must be None or a number >= 0, got {value!r}")
        _check(self.early_stopping in (None, True, False),
               f"Trainer: early_stopping must be None or a bool, got {self.early_stopping!r}")


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """How long and how fast: ``epochs`` = ``(quick, full)``, the one-cycle learning rate's
    ``peak_learning_rate``, the fraction of all optimiser steps over which eps ramps up
    (``warmup_fraction`` in [0, 1]) and, optionally, the decay of the weights' moving average
    (``weight_average`` in (0, 1); ``None``: the last weights are kept)."""

    epochs: tuple[int, int]
    peak_learning_rate: float
    warmup_fraction: float
    weight_average: float | None = None

    def __post_init__(self):
        _check(isinstance(self.epochs, tuple) and len(self.epochs) == 2
               and all(isinstance(e, int) and not isinstance(e, bool) and e >= 1 for e in self.epochs),
               f"Schedule: epochs must be (quick, full), two integers >= 1, got {self.epochs!r}")
        _check(_number(self.peak_learning_rate) and self.peak_learning_rate > 0,
               f"Schedule: peak_learning_rate must be > 0, got {self.peak_learning_rate!r}")
        _check(_number(self.warmup_fraction) and 0 <= self.warmup_fraction <= 1,
               f"Schedule: warmup_fraction must be in [0, 1], got {self.warmup_fraction!r}")
        _check(self.weight_average is None or (_number(self.weight_average) and 0 < self.weight_average < 1),
               f"Schedule: weight_average must be None or a decay in (0, 1), got {self.weight_average!r}")


@dataclass(frozen=True, kw_only=True)
class Data:
    """The training images: ``shift_pixels``, a random offset of up to that many pixels per axis on every pass
    (``None``: the images as they are)."""

    shift_pixels: int | None = None

    def __post_init__(self):
        _check(self.shift_pixels is None or (isinstance(self.shift_pixels, int) and not isinstance(
            self.shift_pixels, bool) and self.shift_pixels >= 0),
               f"Data: shift_pixels must be None or an integer >= 0, got {self.shift_pixels!r}")


SECTIONS = {"network": Network, "trainer": Trainer, "schedule": Schedule, "data": Data}
# Spec fields that are not recipe settings: epochs go to the hyper-parameters, not the settings dict.
_NOT_SETTINGS = {"schedule.epochs"}


def field_paths() -> list[str]:
    """Every field path a spec has, ``"<section>.<field>"`` (e.g. ``"trainer.beta"``)."""
    return [f"{section}.{f.name}" for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)]


@dataclass(frozen=True, kw_only=True)
class Spec:
    """One run of the capstone recipe.

    ``parent``: the name of the spec it was derived from (``None`` for the root); ``note``: why it was run and
    what was measured about it (time budgets, gaps it aims at); ``changes``: for a spec that changes more than
    one field of its parent, the field paths it changes, declared with ``changes_reason`` (why not one).
    """

    name: str
    description: str
    parent: str | None
    network: Network
    trainer: Trainer
    schedule: Schedule
    data: Data = Data()
    note: str = ""
    changes: tuple[str, ...] = ()
    changes_reason: str = ""

    def __post_init__(self):
        _check(isinstance(self.name, str) and self.name.isidentifier(),
               f"Spec: name must be an identifier (letters, digits, _), got {self.name!r}")
        _check(isinstance(self.description, str) and self.description.strip() != "",
               f"Spec {self.name}: give a one-line description")
        for section, cls in SECTIONS.items():
            _check(isinstance(getattr(self, section), cls),
                   f"Spec {self.name}: {section} must be a {cls.__name__}, got {getattr(self, section)!r}")
        _check(isinstance(self.changes, tuple), f"Spec {self.name}: changes must be a tuple of field paths")
        unknown = sorted(set(self.changes) - set(field_paths()))
        _check(not unknown, f"Spec {self.name}: unknown field path(s) {unknown} in changes; use {field_paths()}")
        _check(bool(self.changes) == bool(self.changes_reason.strip()),
               f"Spec {self.name}: declare changes together with changes_reason (why more than one field changes)")
        _check(not self.changes or self.parent is not None, f"Spec {self.name}: a root spec declares no changes")

    @property
    def epochs(self) -> tuple[int, int]:
        """``(quick, full)``: the epochs in quick and in full mode."""
        return self.schedule.epochs

    def settings(self) -> dict:
        """The zoo recipe's flat settings dict: every set field but ``schedule.epochs``, keyed by its field name."""
        flat = {}
        for section in ("trainer", "schedule", "network", "data"):
            for f in dataclasses.fields(SECTIONS[section]):
                value = getattr(getattr(self, section), f.name)
                if f"{section}.{f.name}" not in _NOT_SETTINGS and value is not None:
                    flat[f.name] = value
        return flat


def derive(parent: Spec, name: str, description: str, *, note: str = "", changes: tuple[str, ...] = (),
           changes_reason: str = "", network: dict | None = None, trainer: dict | None = None,
           schedule: dict | None = None, data: dict | None = None) -> Spec:
    """``parent`` with the named fields changed: ``derive(base, "x", "...", trainer={"beta": 9.0})``.

    Each section argument maps field names of that section to new values. Raises ``ValueError`` for an
    unknown field, or when nothing changes.
    """
    _check(isinstance(parent, Spec), f"derive: parent must be a Spec, got {type(parent).__name__}")
    sections = {}
    for section, new in (("network", network), ("trainer", trainer), ("schedule", schedule), ("data", data)):
        current = getattr(parent, section)
        if new:
            known = {f.name for f in dataclasses.fields(current)}
            unknown = sorted(set(new) - known)
            _check(not unknown, f"derive {name}: {section} has no field(s) {unknown}; it has {sorted(known)}")
            current = dataclasses.replace(current, **new)
        sections[section] = current
    spec = Spec(name=name, description=description, parent=parent.name, note=note, changes=tuple(changes),
                changes_reason=changes_reason, **sections)
    _check(bool(differences(spec, parent)), f"derive {name}: it changes nothing of {parent.name}")
    return spec


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b          # 1 and 1.0 differ: they hash differently in the zoo's cache key


def differences(spec: Spec, parent: Spec) -> list[str]:
    """The field paths (``"schedule.epochs"``) whose values differ between ``spec`` and ``parent``, in order."""
    return [f"{section}.{f.name}" for section in SECTIONS for f in dataclasses.fields(SECTIONS[section])
            if not _same(getattr(getattr(spec, section), f.name), getattr(getattr(parent, section), f.name))]
