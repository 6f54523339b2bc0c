"""The seccomp program, evaluated by a small classic-BPF interpreter: what each call gets, per architecture."""

from __future__ import annotations

import errno
import struct

import pytest

from pytest_codeverify.sandbox import seccomp

ALLOW = 0x7FFF0000
EPERM = 0x00050000 | errno.EPERM
ENOSYS = 0x00050000 | errno.ENOSYS


def evaluate(program: bytes, arch: int, nr: int, args: tuple[int, ...] = ()) -> int:
    """Run the filter on one system call (the subset of classic BPF the filter uses)."""
    padded = (*args, *([0] * (6 - len(args))))
    data = struct.pack("=iIQ6Q", nr, arch, 0, *padded)
    insns = [struct.unpack_from("=HBBI", program, offset) for offset in range(0, len(program), 8)]
    pc, acc = 0, 0
    for _ in range(len(insns) + 1):
        code, jt, jf, k = insns[pc]
        if code == 0x20:
            acc = struct.unpack_from("=I", data, k)[0]
            pc += 1
        elif code == 0x06:
            return k
        elif code in (0x15, 0x35, 0x45):
            taken = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += 1 + (jt if taken else jf)
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")
    raise AssertionError("the program did not return")


@pytest.mark.parametrize("machine", sorted(seccomp.ARCHES))
def test_every_denied_call_gets_eperm_and_everything_else_passes(machine: str) -> None:
    program = seccomp.build(machine)
    arch, numbers, _ = seccomp.ARCHES[machine]
    assert set(numbers) - {"clone", "clone3"} <= set(seccomp.DENIED)
    for name in seccomp.DENIED:
        if name in numbers:
            assert evaluate(program, arch, numbers[name]) == EPERM, name
    denied = set(numbers.values())
    for nr in range(0, 470):
        if nr not in denied:
            assert evaluate(program, arch, nr, (0x11,)) == ALLOW, nr


@pytest.mark.parametrize("machine", sorted(seccomp.ARCHES))
@pytest.mark.parametrize(("flags", "action"), [
    (0x11, ALLOW),  # fork: SIGCHLD
    (0x003D0F00, ALLOW),  # pthread_create's flags
    (0x10000000 | 0x11, EPERM),  # CLONE_NEWUSER
    (0x00020000, EPERM), (0x02000000, EPERM), (0x04000000, EPERM), (0x08000000, EPERM),
    (0x20000000, EPERM), (0x40000000, EPERM),
    (0xFFFFFFFF_10000000, EPERM),  # the upper half of the argument is not looked at
])
def test_clone_is_refused_only_with_a_namespace_flag(machine: str, flags: int, action: int) -> None:
    arch, numbers, _ = seccomp.ARCHES[machine]
    assert evaluate(seccomp.build(machine), arch, numbers["clone"], (flags,)) == action


@pytest.mark.parametrize("machine", sorted(seccomp.ARCHES))
def test_clone3_foreign_abis_and_x32_get_enosys(machine: str) -> None:
    program = seccomp.build(machine)
    arch, numbers, x32 = seccomp.ARCHES[machine]
    assert evaluate(program, arch, numbers["clone3"]) == ENOSYS
    assert evaluate(program, 0x40000003, 0) == ENOSYS  # i386 via int 0x80
    assert evaluate(program, arch ^ 1, numbers["clone"], (0x11,)) == ENOSYS
    if x32:
        assert evaluate(program, arch, 0x40000000 | 0) == ENOSYS


def test_an_unknown_architecture_is_an_error_not_an_empty_filter() -> None:
    with pytest.raises(seccomp.SeccompError, match="riscv64"):
        seccomp.build("riscv64")
