"""A seccomp filter that keeps jobs from creating kernel objects that outlive them. Standard library only.

The runner installs it on itself before serving (:func:`install`), so every job's process
inherits it and cannot remove it. It denies, with ``EPERM``, the system calls that create
objects scoped to a user id, an IPC namespace or the kernel as a whole, which the per-job
cleanup could not reach or which would reach past the sandbox:

* kernel keyrings (``add_key``, ``request_key``, ``keyctl``): the user and persistent keyrings
  belong to the uid, and every sandbox runs as the same ``nobody``;
* POSIX message queues (``mq_*``): they live in the sandbox's IPC namespace, which outlives jobs;
* new namespaces (``unshare``, ``setns``, ``clone`` with a namespace flag): a new user
  namespace would hand the job a full capability set over objects it creates there;
* mounts and the new mount API, ``chroot``, ``pivot_root``;
* ``bpf``, ``perf_event_open``, ``userfaultfd``, ``io_uring_*`` (whose operations bypass this
  filter), ``ptrace`` and cross-process memory access, ``kexec``, kernel modules, ``fanotify``,
  file handles, swap, reboot, clock and host name changes, ``acct``, ``quotactl``, ``syslog``.

``clone3`` gets ``ENOSYS``: its flags live in memory a filter cannot read, and the C library
then falls back to ``clone``, whose flags are checked. System calls of another ABI (32-bit
``int 0x80``, x32) are refused outright. Supported: x86_64 and aarch64.
"""

from __future__ import annotations

import errno
import os
import struct

# Classic BPF opcodes and seccomp constants (linux/filter.h, linux/seccomp.h, linux/audit.h).
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_OFFSET_NR = 0
_OFFSET_ARCH = 4
_OFFSET_ARG0 = 16  # low 32 bits of args[0] on a little-endian machine
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_X32_SYSCALL_BIT = 0x40000000

#: Every namespace flag of clone(2): NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET.
#: (CLONE_NEWTIME shares its bit with the exit signal in clone(2); it exists for clone3/unshare only.)
CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

#: The denied system calls, by name (each gets EPERM).
DENIED = (
    "add_key", "request_key", "keyctl",
    "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
    "unshare", "setns",
    "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount",
    "fspick", "mount_setattr", "open_tree_attr",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp", "migrate_pages", "move_pages",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "fanotify_init", "name_to_handle_at", "open_by_handle_at",
    "swapon", "swapoff", "reboot", "sethostname", "setdomainname", "settimeofday", "clock_settime",
    "adjtimex", "clock_adjtime", "acct", "quotactl", "quotactl_fd", "lookup_dcookie", "syslog", "vhangup",
    "iopl", "ioperm", "uselib",
)

#: Per architecture: (AUDIT_ARCH value, system call numbers, whether x32 numbers must be refused).
_X86_64 = {
    "add_key": 248, "request_key": 249, "keyctl": 250,
    "mq_open": 240, "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244,
    "mq_getsetattr": 245, "unshare": 272, "setns": 308, "clone": 56, "clone3": 435,
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "open_tree": 428, "move_mount": 429,
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442, "open_tree_attr": 467,
    "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
    "pidfd_getfd": 438, "kcmp": 312, "migrate_pages": 256, "move_pages": 279,
    "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176,
    "fanotify_init": 300, "name_to_handle_at": 303, "open_by_handle_at": 304,
    "swapon": 167, "swapoff": 168, "reboot": 169, "sethostname": 170, "setdomainname": 171,
    "settimeofday": 164, "clock_settime": 227, "adjtimex": 159, "clock_adjtime": 305, "acct": 163,
    "quotactl": 179, "quotactl_fd": 443, "lookup_dcookie": 212, "syslog": 103, "vhangup": 153,
    "iopl": 172, "ioperm": 173, "uselib": 134,
}
_AARCH64 = {
    "add_key": 217, "request_key": 218, "keyctl": 219,
    "mq_open": 180, "mq_unlink": 181, "mq_timedsend": 182, "mq_timedreceive": 183, "mq_notify": 184,
    "mq_getsetattr": 185, "unshare": 97, "setns": 268, "clone": 220, "clone3": 435,
    "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "open_tree": 428, "move_mount": 429,
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442, "open_tree_attr": 467,
    "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
    "pidfd_getfd": 438, "kcmp": 272, "migrate_pages": 238, "move_pages": 239,
    "kexec_load": 104, "kexec_file_load": 294, "init_module": 105, "finit_module": 273, "delete_module": 106,
    "fanotify_init": 262, "name_to_handle_at": 264, "open_by_handle_at": 265,
    "swapon": 224, "swapoff": 225, "reboot": 142, "sethostname": 161, "setdomainname": 162,
    "settimeofday": 170, "clock_settime": 112, "adjtimex": 171, "clock_adjtime": 266, "acct": 89,
    "quotactl": 60, "quotactl_fd": 443, "lookup_dcookie": 18, "syslog": 116, "vhangup": 58,
}
ARCHES: dict[str, tuple[int, dict[str, int], bool]] = {
    "x86_64": (0xC000003E, _X86_64, True),
    "aarch64": (0xC00000B7, _AARCH64, False),
}


class SeccompError(RuntimeError):
    """The filter could not be built or installed here."""


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def build(machine: str | None = None) -> bytes:
    """The filter program for ``machine`` (default: this one), as packed ``sock_filter`` structs."""
    machine = machine or os.uname().machine
    if machine not in ARCHES:
        raise SeccompError(f"no seccomp filter for the {machine} architecture (supported: {', '.join(ARCHES)})")
    audit_arch, numbers, x32 = ARCHES[machine]
    eperm = _RET_ERRNO | errno.EPERM
    enosys = _RET_ERRNO | errno.ENOSYS
    program = [
        _insn(_LD_W_ABS, _OFFSET_ARCH),
        _insn(_JEQ_K, audit_arch, jt=1),  # another ABI: refused below
        _insn(_RET_K, enosys),
        _insn(_LD_W_ABS, _OFFSET_NR),
    ]
    if x32:
        program += [_insn(_JGE_K, _X32_SYSCALL_BIT, jf=1), _insn(_RET_K, enosys)]
    for name in DENIED:
        if name in numbers:
            program += [_insn(_JEQ_K, numbers[name], jf=1), _insn(_RET_K, eperm)]
    program += [
        _insn(_JEQ_K, numbers["clone3"], jf=1), _insn(_RET_K, enosys),
        # clone: refused when its flags ask for any new namespace.
        _insn(_JEQ_K, numbers["clone"], jf=3),
        _insn(_LD_W_ABS, _OFFSET_ARG0),
        _insn(_JSET_K, CLONE_NAMESPACE_FLAGS, jf=1),
        _insn(_RET_K, eperm),
        _insn(_RET_K, _RET_ALLOW),
    ]
    return b"".join(program)


def install() -> None:
    """Install the filter on this process (inherited by every process it forks; irrevocable).

    Sets ``no_new_privs`` first, as an unprivileged process must (and so that no set-uid program
    can regain privileges). Raises :class:`SeccompError` when the kernel refuses.
    """
    import ctypes

    program = build()
    count = len(program) // 8
    filters = ctypes.create_string_buffer(program, len(program))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(count, ctypes.cast(filters, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise SeccompError(f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(ctypes.get_errno())}")
    address = ctypes.addressof(fprog)
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, address, 0, 0) != 0:
        raise SeccompError(f"prctl(PR_SET_SECCOMP): {os.strerror(ctypes.get_errno())}")
