"""Boot the kernel lab VM (virtme-ng) and run a command inside it.

The host kernel may lack SCTP; the lab then boots a Debian kernel that has
it with ``vng --disable-kvm`` over the host's root filesystem (read-only
except the ``--rwdir`` directories), runs one shell script as root and
returns its exit status.  KVM is never used (it hangs on this workplace).
"""
from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

IPPROTO_SCTP = 132
#: Default bound on one VM run (boot + everything inside), seconds.
DEFAULT_VM_TIMEOUT = 540


class LabError(RuntimeError):
    """The lab VM could not be used; the message is one line for the user."""


def sctp_available(try_modprobe: bool = True) -> bool:
    """True if this kernel can open an SCTP socket (after ``modprobe sctp`` if root)."""
    def probe() -> bool:
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_SCTP).close()
            return True
        except OSError:
            return False

    if probe():
        return True
    if try_modprobe and os.geteuid() == 0 and shutil.which("modprobe"):
        subprocess.run(["modprobe", "-q", "sctp"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        return probe()
    return False


def _version_key(path: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", path)]


def find_kernel() -> str | None:
    """The kernel image to boot: ``$SCTPINSPECT_LAB_KERNEL``, else the newest
    ``/boot/vmlinuz-*`` whose modules include ``net/sctp``."""
    env = os.environ.get("SCTPINSPECT_LAB_KERNEL")
    if env:
        return env
    for image in sorted(glob.glob("/boot/vmlinuz-*"), key=_version_key, reverse=True):
        version = image.split("vmlinuz-", 1)[1]
        if glob.glob(f"/lib/modules/{version}/kernel/net/sctp/sctp.ko*"):
            return image
    return None


def vng_command(script: str, rwdirs: list[str], memory: str = "2G",
                kernel: str | None = None, cpus: int | None = None) -> list[str]:
    """The ``vng`` argv that boots the lab kernel and runs ``script`` (a shell
    command line) as root after ``modprobe sctp``."""
    vng = shutil.which("vng")
    if vng is None:
        raise LabError("kernel lab: `vng` (pip install virtme-ng) is not installed")
    if shutil.which("qemu-system-x86_64") is None:
        raise LabError("kernel lab: qemu-system-x86_64 (apt-get install qemu-system-x86) is not installed")
    kernel = kernel or find_kernel()
    if kernel is None or not os.path.exists(kernel):
        raise LabError("kernel lab: no /boot/vmlinuz-* with an SCTP module "
                       "(apt-get install linux-image-amd64, or set SCTPINSPECT_LAB_KERNEL)")
    argv = [vng, "--disable-kvm", "-r", kernel, "--memory", memory]
    if cpus:
        argv += ["--cpus", str(cpus)]
    for d in rwdirs:
        argv.append(f"--rwdir={d}")
    argv += ["--exec", f"modprobe sctp; {script}"]
    return argv


def run_in_vm(script: str, rwdirs: list[str], log_path: str | os.PathLike,
              timeout: float = DEFAULT_VM_TIMEOUT, cwd: str | None = None,
              memory: str = "2G", cpus: int | None = None) -> int:
    """Boot the lab VM, run ``script`` inside (cwd kept), return its exit status.

    The VM console (kernel messages and the script's output) goes to
    ``log_path``.  Raises :class:`LabError` (one line) when the VM cannot be
    started or does not finish within ``timeout`` seconds.
    """
    argv = vng_command(script, rwdirs, memory=memory, cpus=cpus)
    with open(log_path, "wb") as log:
        log.write(("$ " + " ".join(shlex.quote(a) for a in argv) + "\n").encode())
        log.flush()
        start = time.monotonic()
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise LabError(f"kernel lab: the VM did not finish within {timeout:.0f} s "
                           f"(console log: {log_path})") from None
        log.write(f"\n[lab] vng exited {rc} after {time.monotonic() - start:.1f} s\n".encode())
    return rc


def log_tail(path: str | os.PathLike, lines: int = 40) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
