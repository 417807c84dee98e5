"""The capstone's research runs: lesson 09's recipe with one idea changed at a time, as typed specs.

``SPECS``: name -> :class:`Spec`, every run, the zoo's own included (as the parents of the rest).
``register()`` adds the runs the zoo does not keep to ``helpers.zoo`` (through
``zoo.register_capstone_variant``), so ``zoo.get(name)`` trains or loads them under the same cache key as
when they were trained. See README.md beside this file.
"""
from __future__ import annotations

from .spec import Data, Network, Schedule, Spec, Trainer, derive, differences, field_paths
from .variants import SPECS

__all__ = ["Data", "Network", "Schedule", "Spec", "Trainer", "SPECS", "derive", "differences", "field_paths",
           "experiment_names", "register", "table"]


def _zoo_keeps() -> set[str]:
    from helpers import zoo

    return {"capstone", *zoo.CAPSTONE_VARIANTS}


def experiment_names() -> list[str]:
    """The specs the zoo does not keep (the research runs), in the order of :data:`SPECS`."""
    kept = _zoo_keeps()
    return [name for name in SPECS if name not in kept]


def register() -> list[str]:
    """Register every research run into the zoo; returns their names. Calling it again changes nothing.

    For a spec the zoo keeps itself, checks that the zoo's settings and epochs are the spec's, and raises
    ``ValueError`` where they drifted apart (the spec would no longer describe the saved model).
    """
    from helpers import config, zoo

    kept = _zoo_keeps()
    for name in kept & set(SPECS):
        spec = SPECS[name]
        if zoo.settings(name) != spec.settings():
            raise ValueError(f"experiments.capstone: the zoo's {name!r} settings {zoo.settings(name)} are not its "
                             f"spec's {spec.settings()}")
        epochs = zoo.hparams(name).epochs
        if epochs != spec.epochs[0 if config.quick_mode() else 1]:
            raise ValueError(f"experiments.capstone: the zoo trains {name!r} for {epochs} epochs in "
                             f"{config.mode()} mode, its spec for {spec.epochs} (quick, full)")
    names = experiment_names()
    for name in names:
        spec = SPECS[name]
        zoo.register_capstone_variant(name, spec.description, epochs=spec.epochs, **spec.settings())
    return names


def _changed(spec: Spec) -> str:
    if spec.parent is None:
        return "(the root)"
    parent = SPECS[spec.parent]
    return ", ".join(f"{path}={getattr(getattr(spec, path.split('.')[0]), path.split('.')[1])!r}"
                     for path in differences(spec, parent))


def table() -> str:
    """Every spec as Markdown: a table (name, kept by the zoo or here, parent, what changes, epochs), then each
    one's description and note."""
    kept = _zoo_keeps()
    lines = ["| run | kept by | parent | changes from its parent | epochs (quick, full) |",
             "| --- | --- | --- | --- | --- |"]
    for name, spec in SPECS.items():
        parent = f"`{spec.parent}`" if spec.parent else ""
        lines.append(f"| `{name}` | {'the zoo' if name in kept else 'experiments'} | {parent} | {_changed(spec)} "
                     f"| {spec.epochs[0]}, {spec.epochs[1]} |")
    lines += ["", "Why each run:", ""]
    for name, spec in SPECS.items():
        why = f" More than one change: {spec.changes_reason}." if spec.changes else ""
        lines.append(f"- `{name}`: {spec.description}. {spec.note}{why}")
    return "\n".join(lines)
