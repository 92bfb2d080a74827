"""Which worker process holds a run, and whether that process is gone.

A holder is "host/pid-namespace:pid:token": the token tells a worker from an earlier one that had the
same pid (a restarted container), the pid namespace tells containers that share a host name apart.
Only a holder on this host and namespace can be judged dead here; any other waits for its heartbeat
to go stale.
"""

import os
import secrets
import socket


def this_host() -> str:
    try:
        namespace = os.readlink("/proc/self/ns/pid").removeprefix("pid:")
    except OSError:
        namespace = "-"
    return f"{socket.gethostname()}/{namespace}"


class Holder:
    def __init__(self) -> None:
        self.host = this_host()
        self.pid = os.getpid()
        self.token = secrets.token_hex(4)

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"

    @property
    def host_prefix(self) -> str:
        return f"{self.host}:"

    def is_gone(self, holder: str) -> bool:
        """True when `holder` is a worker process of this host that no longer runs."""
        try:
            host, pid_text, token = holder.rsplit(":", 2)
            pid = int(pid_text)
        except ValueError:
            return False
        if host != self.host:
            return False
        if pid == self.pid:
            return token != self.token
        return not process_alive(pid)


def process_alive(pid: int) -> bool:
    """Whether process `pid` of this machine (and pid namespace) runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        pass
    return True
