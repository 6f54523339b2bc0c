"""Values between the two processes of an assertion test, and handles. Standard library only.

:class:`Codec` turns a value into data for the other process and back (see :mod:`.remote` for
the channel). Exact built-in values cross as themselves, in the encoding of
:func:`pytest_codeverify.protocol.encode_value`; an instance of a subclass of a built-in type as
its exact built-in value (a ``Counter`` as a ``dict``); built-in types and functions and
standard-library modules by name, resolved by the receiver in its own copy. Every other object
stays where it lives and crosses as a *handle*: the receiver gets a :class:`Remote`, whose
operations are requests to the owner. A :class:`Remote` is equal only to itself and has no
arithmetic and no ordering, so a comparison made on the test's side never runs the candidate's
code, and nothing the candidate made exists in the test's process.
"""

from __future__ import annotations

import base64
import builtins
import sys
import types

from ..protocol import ProtocolError

TYPE_CHECKING = False
if TYPE_CHECKING:  # never at run time: the runner's imports are copied into every job's processes
    from collections.abc import Callable
    from typing import Any

# Every function below resolves built-in names in this private copy, taken before any program ran
# (a function takes its built-ins from its globals when it is made): a program that patches
# ``builtins.type`` or ``isinstance`` changes what its own code sees, not how its answers are sent.
__builtins__ = dict(builtins.__dict__)  # type: ignore[assignment]

_MAX_DEPTH = 200
_WIDE_INT_BITS = 60
#: Most items one ``next`` request asks for: iterating a :class:`Remote` fetches items in
#: batches that double from 1 up to this size (a generator runs at most this far ahead).
MAX_BATCH = 256
#: Standard-library modules never imported on request: they run code or change the interpreter
#: when imported.
_NO_IMPORT = frozenset({"site", "this", "antigravity", "idlelib", "tkinter", "turtle", "turtledemo", "pydoc"})
# The exact built-in value of an instance of a subclass of a built-in type, read through the
# base type's own C slots, which a subclass cannot override.
_EXACT: tuple[tuple[type, Callable[[Any], Any]], ...] = (
    (int, lambda v: int.__add__(v, 0)),
    (float, lambda v: float.__mul__(v, 1.0)),
    (complex, lambda v: complex.__mul__(v, 1)),
    (str, lambda v: str.__str__(v)),
    (bytes, lambda v: bytes.__add__(b"", v)),
    (tuple, lambda v: tuple(tuple.__iter__(v))),
    (list, lambda v: list(list.__iter__(v))),
    (dict, lambda v: dict(dict.items(v))),
    (frozenset, lambda v: frozenset(frozenset.__iter__(v))),
    (set, lambda v: set(set.__iter__(v))),
)


def safe_str(value: object, limit: int = 2000) -> str:
    """``str(value)`` cut to ``limit`` characters, or a placeholder when ``str`` fails."""
    try:
        text = str(value)
    except BaseException:
        return "<unprintable>"
    return text[:limit] if type(text) is str else "<unprintable>"


def _is_builtin(value: object) -> str | None:
    """The name of ``value`` in the ``builtins`` module when it is a built-in type or function."""
    name = getattr(value, "__name__", None)
    if type(name) is str and builtins.__dict__.get(name) is value and (
            isinstance(value, type) or type(value) is types.BuiltinFunctionType):
        return name
    return None


def _stdlib_module(name: object) -> bool:
    return type(name) is str and all(part.isidentifier() for part in name.split(".")) \
        and name.split(".")[0] in sys.stdlib_module_names and name.split(".")[0] not in _NO_IMPORT


def _import(name: str) -> types.ModuleType:
    if not _stdlib_module(name):
        raise ProtocolError(f"{str(name)[:80]!r} is not a standard-library module")
    try:
        __import__(name)
        return sys.modules[name]
    except Exception as exc:
        raise ProtocolError(f"module {name!r} cannot be imported: {type(exc).__name__}") from None


class Remote:
    """An object of the other process: every operation on it is a request to that process.

    Equal only to itself and hashed by identity, without arithmetic or ordering, so comparing
    it never runs the other side's code. Calling it, getting and setting attributes, indexing,
    ``len``, truth value, ``str``, ``repr``, iterating and ``isinstance`` checks are forwarded;
    ``in`` iterates it here and compares the items here.
    """

    __slots__ = ("__batch", "__buffer", "__end", "__pending", "__ref")

    def __init__(self, end: Any, ref: int) -> None:  # end: the Endpoint of .remote
        object.__setattr__(self, "_Remote__end", end)
        object.__setattr__(self, "_Remote__ref", ref)
        object.__setattr__(self, "_Remote__buffer", [])
        object.__setattr__(self, "_Remote__batch", 1)
        object.__setattr__(self, "_Remote__pending", None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__end.call(self.__ref, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_Remote__"):
            raise AttributeError(name)
        return self.__end.ask({"op": "getattr", "target": self.__ref, "name": name})

    def __setattr__(self, name: str, value: Any) -> None:
        self.__end.ask({"op": "setattr", "target": self.__ref, "name": name, "value": self.__end.encode(value)})

    def __getitem__(self, key: Any) -> Any:
        return self.__end.ask({"op": "getitem", "target": self.__ref, "key": self.__end.encode(key)})

    def __setitem__(self, key: Any, value: Any) -> None:
        self.__end.ask({"op": "setitem", "target": self.__ref, "key": self.__end.encode(key),
                        "value": self.__end.encode(value)})

    def __delitem__(self, key: Any) -> None:
        self.__end.ask({"op": "delitem", "target": self.__ref, "key": self.__end.encode(key)})

    def __len__(self) -> int:
        value = self.__end.ask({"op": "len", "target": self.__ref})
        if type(value) is not int or value < 0:
            raise TypeError("len() of the object did not give a non-negative int")
        return value

    def __bool__(self) -> bool:
        value = self.__end.ask({"op": "bool", "target": self.__ref})
        if type(value) is not bool:
            raise TypeError("the object's truth value is not a bool")
        return value

    def __str__(self) -> str:
        return self.__text("str")

    def __repr__(self) -> str:
        return self.__text("repr")

    def __text(self, op: str) -> str:
        if not self.__end.active:  # while the outcome is reported: never ask the other side
            return f"<object #{self.__ref} of the program>"
        value = self.__end.ask({"op": op, "target": self.__ref})
        if type(value) is not str:
            raise TypeError(f"{op}() of the object did not give a str")
        return value

    def __iter__(self) -> Any:
        return self.__end.ask({"op": "iter", "target": self.__ref})

    def __next__(self) -> Any:
        buffer = self.__buffer
        if buffer:
            return buffer.pop()
        pending = self.__pending
        if pending is not None:
            object.__setattr__(self, "_Remote__pending", None)
            raise pending
        size = self.__batch
        object.__setattr__(self, "_Remote__batch", min(size * 2, MAX_BATCH))
        items, ending = self.__end.next_batch(self.__ref, size)
        if not items:
            raise ending if ending is not None else StopIteration
        items.reverse()
        first = items.pop()
        object.__setattr__(self, "_Remote__buffer", items)
        object.__setattr__(self, "_Remote__pending", ending)
        return first

    def __instancecheck__(self, instance: Any) -> bool:
        return self.__check("isinstance", instance)

    def __subclasscheck__(self, subclass: Any) -> bool:
        return self.__check("issubclass", subclass)

    def __check(self, op: str, value: Any) -> bool:
        answer = self.__end.ask({"op": op, "target": self.__ref, "value": self.__end.encode(value)})
        if type(answer) is not bool:
            raise TypeError(f"{op}() with the object did not give a bool")
        return answer

    def __copy__(self) -> Remote:
        return self

    def __deepcopy__(self, memo: Any) -> Remote:
        return self


class Codec:
    """Encodes values for the other side and decodes its data; keeps both sides' handles.

    ``accepts_global``: whether the other side may name standard-library objects
    (``{"global": [module, qualname]}``); only the candidate's side accepts names from the test's.
    """

    accepts_global = True
    #: ``__module__`` of the classes made here for the other side's exception classes.
    peer_module = "<remote>"

    def __init__(self) -> None:
        self.objects: dict[int, Any] = {}  # own objects sent as handles, by handle number
        self.handles: dict[int, int] = {}  # id() of an own object -> its handle number
        self.remotes: dict[int, Remote] = {}  # the other side's objects, by its handle number
        self.exc_classes: dict[int, type] = {}  # the other side's exception classes, made here
        self.exc_refs: dict[type, int] = {}

    def local(self, ref: object) -> Any:
        """An own object by handle number."""
        if type(ref) is not int or ref not in self.objects:
            raise ProtocolError("unknown object")
        return self.objects[ref]

    def encode(self, value: Any, depth: int = 0) -> object:
        """``value`` as data for the other side (see the module's docstring)."""
        if depth > _MAX_DEPTH:
            raise ValueError("a value nested too deeply to pass between the program and the test")
        kind = type(value)
        if value is None or kind is bool or kind is str:
            return value
        if kind is int:
            return {"int": hex(value)} if value.bit_length() > _WIDE_INT_BITS else value
        if kind is float:
            return {"float": repr(value)}
        if kind is list:
            return [self.encode(v, depth + 1) for v in value]
        if kind is tuple:
            return {"tuple": [self.encode(v, depth + 1) for v in value]}
        if kind is dict:
            return {"dict": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()]}
        if kind is set or kind is frozenset:
            return {kind.__name__: [self.encode(v, depth + 1) for v in value]}
        if kind is bytes:
            return {"bytes": base64.b64encode(value).decode("ascii")}
        if kind is complex:
            return {"complex": [repr(value.real), repr(value.imag)]}
        for base, exact in _EXACT:
            if issubclass(kind, base):
                return self.encode(exact(value), depth + 1)
        return self.encode_object(value)

    def encode_object(self, value: Any) -> object:
        """A value that is not plain data: by name where the other side has the same, else a handle."""
        kind = type(value)
        if kind is Remote:
            if value._Remote__end is not self:
                raise ValueError("an object of another channel")
            return {"yours": value._Remote__ref}
        if kind is range:
            return {"range": [self.encode(value.start), self.encode(value.stop), self.encode(value.step)]}
        if kind is types.ModuleType:
            name = value.__name__
            if _stdlib_module(name) and sys.modules.get(name) is value:
                return {"module": name}
        elif isinstance(value, type) and issubclass(value, BaseException):
            if value in self.exc_refs:
                return {"yours": self.exc_refs[value]}
            if _is_builtin(value) is None:
                base = next(b for b in value.__mro__ if _is_builtin(b) and issubclass(b, BaseException))
                return {"exc": [safe_str(value.__name__, 200), base.__name__, self.handle(value)]}
        name = _is_builtin(value)
        if name is not None:
            return {"builtin": name}
        return self.encode_named(value) or {"mine": self.handle(value)}

    def encode_named(self, value: Any) -> dict[str, Any] | None:
        """``value`` by its standard-library name, if the other side accepts names."""
        return None

    def handle(self, value: Any) -> int:
        ref = self.handles.get(id(value))
        if ref is None:
            ref = len(self.objects) + 1
            self.objects[ref] = value  # kept alive, so its id() is never reused
            self.handles[id(value)] = ref
        return ref

    def encode_exception(self, exc: BaseException) -> dict[str, Any]:
        try:
            args = self.encode(list(exc.args))
        except Exception:
            args = []
        return {"class": self.encode(type(exc)), "args": args, "message": safe_str(exc)}

    def decode(self, data: object, depth: int = 0) -> Any:
        """Invert :meth:`encode` of the other side. Raises :class:`ProtocolError` on bad data."""
        if depth > _MAX_DEPTH + 1:
            raise ProtocolError("value nested too deeply")
        kind = type(data)
        if data is None or kind is bool or kind is int or kind is str:
            return data
        if kind is list:
            return [self.decode(v, depth + 1) for v in data]  # type: ignore[attr-defined]
        if kind is dict and len(data) == 1:  # type: ignore[arg-type]
            ((tag, inner),) = data.items()  # type: ignore[attr-defined]
            try:
                return self._decode_tagged(tag, inner, depth)
            except ProtocolError:
                raise
            except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
                raise ProtocolError(f"malformed {str(tag)[:20]}: {type(exc).__name__}") from None
        raise ProtocolError(f"malformed value {str(data)[:40]}")

    def _decode_tagged(self, tag: str, inner: Any, depth: int) -> Any:
        kind = type(inner)
        if tag == "mine" and kind is int and inner > 0:
            remote = self.remotes.get(inner)
            if remote is None:
                remote = self.remotes[inner] = Remote(self, inner)
            return remote
        if tag == "yours":
            return self.local(inner)
        if tag == "int" and kind is str:
            return int(inner, 16)
        if tag == "float" and kind is str:
            return float(inner)
        if kind is list:
            if tag == "tuple":
                return tuple(self.decode(v, depth + 1) for v in inner)
            if tag == "dict":
                return {self.decode(k, depth + 1): self.decode(v, depth + 1) for k, v in inner}
            if tag == "set":
                return {self.decode(v, depth + 1) for v in inner}
            if tag == "frozenset":
                return frozenset(self.decode(v, depth + 1) for v in inner)
            if tag == "complex" and len(inner) == 2 and all(type(p) is str for p in inner):
                return complex(float(inner[0]), float(inner[1]))
            if tag == "range" and len(inner) == 3:
                start, stop, step = (self.decode(p, depth + 1) for p in inner)
                if type(start) is int and type(stop) is int and type(step) is int:
                    return range(start, stop, step)
            if tag == "exc" and len(inner) == 3:
                return self.exception_class(*inner)
            if tag == "global" and self.accepts_global and len(inner) == 2:
                value: Any = _import(inner[0])
                for part in inner[1].split("."):
                    value = getattr(value, part)
                return value
        if tag == "bytes" and kind is str:
            return base64.b64decode(inner, validate=True)
        if tag == "builtin" and kind is str and _is_builtin(builtins.__dict__.get(inner)) == inner:
            return builtins.__dict__[inner]
        if tag == "module":
            return _import(inner)
        raise ProtocolError(f"malformed {str(tag)[:20]}")

    def exception_class(self, name: object, base_name: object, ref: object) -> type:
        """The class made here for an exception class of the other side: same name, derived
        from the same built-in exception class."""
        if type(ref) is not int or ref <= 0:
            raise ProtocolError("malformed exception class")
        made = self.exc_classes.get(ref)
        if made is None:
            base = builtins.__dict__.get(base_name) if type(base_name) is str else None
            if not (isinstance(base, type) and issubclass(base, BaseException)):
                base = Exception
            clean = name if type(name) is str and name.isidentifier() else "ProgramError"
            try:
                made = type(clean, (base,), {"__module__": self.peer_module})
            except TypeError:
                made = type(clean, (Exception,), {"__module__": self.peer_module})
            self.exc_classes[ref] = made
            self.exc_refs[made] = ref
        return made

    def remote_exception(self, info: object) -> BaseException:
        """The exception the other side raised, made here; marked with ``_codeverify_remote``."""
        if type(info) is not dict:
            raise ProtocolError("malformed exception")
        kind = self.decode(info.get("class"))
        if not (isinstance(kind, type) and issubclass(kind, BaseException)):
            raise ProtocolError("an exception that is not an exception class")
        message = info.get("message")
        message = message if type(message) is str else ""
        args = self.decode(info.get("args", []))
        exc: BaseException
        try:
            exc = kind(*args) if type(args) is list else kind(message)
        except Exception:
            try:
                exc = kind(message)
            except Exception:
                exc = RuntimeError(message)
        exc._codeverify_remote = message  # type: ignore[attr-defined]
        return exc
