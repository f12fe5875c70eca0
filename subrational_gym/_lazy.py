"""A package's public names imported on first use (PEP 562 ``__getattr__``).

A package lists where each name lives and gets ``__getattr__`` and ``__dir__``: the name's
module is imported when the name is first read, so importing the package stays cheap
(``subrational_gym.learners`` loads no torch, ``llm_experts`` no openai) and a command's
``--help`` answers before the heavy imports.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping


def lazy_names(package: str, where: Mapping[str, str], public: Iterable[str]
               ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``.

    Args:
        package: The package's ``__name__``.
        where: Each public name's module (``{"train": "subrational_gym.learners.training"}``).
        public: The package's ``__all__``.

    Returns:
        ``(__getattr__, __dir__)``; a name read once is kept in the package's namespace.
    """
    names = sorted(public)

    def __getattr__(name: str) -> object:  # noqa: N807 - the module hook's own name
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted({*vars(sys.modules[package]), *names})

    return __getattr__, __dir__
