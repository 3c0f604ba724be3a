"""The chassis' public faces — ``mercato.chassis`` and each module or package directly in
it — document every class and function they offer: a service author reads the face, not
the code behind it. A face's offer is its ``__all__``, or else the public names defined in
it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import mercato.chassis

FACES = ["mercato.chassis", *(f"mercato.chassis.{m.name}"
                              for m in pkgutil.iter_modules(mercato.chassis.__path__))]


def offered(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [n for n, obj in vars(module).items() if not n.startswith("_")
            and getattr(obj, "__module__", None) == module.__name__]


def own_doc(obj) -> str:
    """The object's own docstring: not inherited, not the signature a dataclass makes up."""
    doc = (obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__) or ""
    return "" if doc.startswith(f"{obj.__name__}(") else doc.strip()


def test_the_faces_are_found():
    assert {"mercato.chassis.data", "mercato.chassis.messaging", "mercato.chassis.worker",
            "mercato.chassis.errors"} <= set(FACES)


@pytest.mark.parametrize("face", FACES)
def test_every_class_and_function_a_face_offers_has_a_docstring(face):
    module = importlib.import_module(face)
    undocumented = [name for name in offered(module)
                    if (inspect.isclass(obj := getattr(module, name)) or inspect.isfunction(obj))
                    and not own_doc(obj)]
    assert undocumented == [], f"{face} offers these without a docstring"
