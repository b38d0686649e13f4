"""How a caller spells an option, so that messages name it the way the caller wrote it.

``pue=`` in Python, ``--pue`` on the command line, ``alpha_2_code=`` where ECO2AI code
(:mod:`wattprint.eco2ai`) passed ``country`` under ECO2AI's name. The caller chooses the naming when it builds its settings
(:class:`wattprint.core.settings.Settings`); every message about an option is then written
with it, rather than rewritten afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping


class Naming:
    """``style`` is ``"python"`` or ``"cli"``; ``aliases`` maps an option to the name the caller used.

    Immutable and picklable (settings carry it to spawned processes).
    """

    __slots__ = ("style", "aliases")

    def __init__(self, style: str = "python", aliases: tuple[tuple[str, str], ...] = ()) -> None:
        object.__setattr__(self, "style", style)
        object.__setattr__(self, "aliases", tuple(aliases))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Naming is immutable")

    def __reduce__(self) -> tuple:
        return Naming, (self.style, self.aliases)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Naming) and (self.style, self.aliases) == (other.style, other.aliases)

    def __hash__(self) -> int:
        return hash((self.style, self.aliases))

    def __repr__(self) -> str:
        return f"Naming({self.style!r}, {self.aliases!r})"

    def __call__(self, option: str) -> str:
        """``pue`` -> ``"pue="`` (Python) or ``"--pue"`` (command line)."""
        name = dict(self.aliases).get(option, option)
        return f"--{name.replace('_', '-')}" if self.style == "cli" else f"{name}="

    def example(self, option: str, value: object) -> str:
        """``("country", "FR")`` -> ``"country='FR'"`` (Python) or ``"--country FR"`` (command line)."""
        if self.style == "cli":
            return f"{self(option)} {value}"
        return f"{self(option)}{value!r}"

    def aliased(self, aliases: Mapping[str, str]) -> Naming:
        """The same style, with ``aliases`` (option -> the caller's name) added."""
        return Naming(self.style, (*self.aliases, *aliases.items()))


PYTHON = Naming("python")
CLI = Naming("cli")
