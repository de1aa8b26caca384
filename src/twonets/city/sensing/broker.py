"""The project's MQTT broker: Mosquitto started from the configuration twonets ships
(`deploy/mosquitto.conf`), so that what the broker acknowledged is never dropped by it.

Why a configured broker rather than a durable stream behind it. The readings' guarantee is
lost in one place only: Mosquitto's default per-session queue limit (`max_queued_messages
1000`) silently drops QoS-1 messages queued for a worker that is restarting or falling
behind, after they were acknowledged to the device. With the queue unbounded per session
(bounded by the broker's memory), persistence on, and the worker acking only after commit,
MQTT alone carries the guarantee end to end; a stream (e.g. NATS JetStream) would need a
second server, a new dependency and a relay that is itself an MQTT subscriber with the same
queue to size, for no gain at one district's rates. A stream becomes worth it when readings
must be replayed, kept for days on disk or fanned out to several consumers.

Limits (stated in the shipped file too):
- the queue is in the broker's memory, bounded only by the host's: a per-session limit drops
  silently, and Mosquitto's `memory_limit` also locks out the worker that would drain the
  queue (tried: it is disconnected "due to out of memory"), so neither is set;
- it is saved to disk every `autosave_interval` (10 s) and on SIGTERM: a broker killed with
  SIGKILL (or by the OOM killer, or a host losing power) loses what it accepted since the
  last save; messages delivered again after its restart are stored once (idempotent storage);
- one broker, no cluster: while it is down devices cannot publish (they buffer or lose).

`render` rewrites only the listener and the persistence location (and, as root, keeps
Mosquitto from switching to a `mosquitto` user that could not write a private directory).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[4] / "deploy" / "mosquitto.conf"


def config_path() -> Path:
    """The configuration to start from: TWONETS_MOSQUITTO_CONF, else the shipped file."""
    return Path(os.environ.get("TWONETS_MOSQUITTO_CONF") or SHIPPED)


def executable() -> str:
    found = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if not found:
        raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
    return found


def render(port: int, data_dir: Path, bind: str = "127.0.0.1", source: Path | None = None) -> str:
    """The configuration with its listener on `bind:port` and its persistence in `data_dir`."""
    text = (source or config_path()).read_text()
    lines = []
    for line in text.splitlines():
        if re.match(r"\s*(listener|persistence_location|user)\s", line):
            continue
        lines.append(line)
    lines += [f"listener {port} {bind}", f"persistence_location {Path(data_dir).resolve()}/"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        lines.append("user root")
    return "\n".join(lines) + "\n"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Broker:
    """A Mosquitto process from the project's configuration, in `data_dir` (kept across restarts)."""

    def __init__(self, data_dir: Path, port: int | None = None, host: str = "127.0.0.1"):
        self.data_dir, self.host = Path(data_dir), host
        self.port = port or free_port(host)
        self.proc: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        """The settings that point twonets processes at this broker."""
        return {"TWONETS_MQTT_HOST": self.host, "TWONETS_MQTT_PORT": str(self.port)}

    def start(self, timeout: float = 10.0) -> Broker:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "mosquitto.conf"
        conf.write_text(render(self.port, self.data_dir, self.host))
        log = open(self.data_dir / "mosquitto.log", "ab")
        self.proc = subprocess.Popen([executable(), "-c", str(conf)], stdout=log, stderr=log)
        log.close()
        ends = time.monotonic() + timeout
        while time.monotonic() < ends:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}; see {self.data_dir / 'mosquitto.log'}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.host}:{self.port} within {timeout} s")

    def stop(self, kill: bool = False, timeout: float = 15.0) -> None:
        """SIGTERM (Mosquitto saves its database first) or, with `kill`, SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
