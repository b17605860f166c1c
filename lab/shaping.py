"""WAN link shaping with ``tbf`` and the byte counters of the shaped links.

The kernel here has ``tbf`` and ``htb`` but no ``netem``: a WAN link is a veth
pair with a token bucket on the egress of each end, so each direction is
limited on its own, like the two directions of a real leased line. There is
no added propagation delay; the round-trip time of a busy link is the
queueing delay the bucket's queue allows, which is what dominates on a thin,
loaded WAN link anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.netns import run

# Full Ethernet frame on a 1500-byte MTU link (what tbf and the counters see).
FRAME = 1514
# Tokens for ~4 ms of traffic: one tick of a HZ=250 kernel, so the bucket can
# keep the line busy even when the qdisc watchdog fires a little late, but
# small enough that a burst is not noticed as a rate above the link's.
BURST_S = 0.004
# At least this many full frames of burst; at low rates 4 ms is under one
# frame and tbf would then never let a full frame through.
MIN_BURST_FRAMES = 4
# The queue holds ~40 ms of traffic beyond the burst: a typical buffer of a
# WAN access router. Much less and parallel TCP flows lose packets all the
# time and never fill the link; much more (bufferbloat) and every flow's RTT
# grows to hundreds of ms and slows TCP's reaction, which changes the
# comparison between HTTP and peer-to-peer in ways a real WAN would not.
LATENCY_S = 0.040


@dataclass(frozen=True)
class Tbf:
    rate_bit: int
    burst_bytes: int
    limit_bytes: int

    def tc_args(self) -> list[str]:
        # Bare numbers are bytes to tc; "bit" makes the rate bits per second.
        return [
            "tbf", "rate", f"{self.rate_bit}bit",
            "burst", str(self.burst_bytes), "limit", str(self.limit_bytes),
        ]


def tbf_for(mbit: float) -> Tbf:
    """The token bucket for a link of ``mbit`` Mbit/s (10^6 bit/s)."""
    rate_bit = int(mbit * 1e6)
    rate_bytes = rate_bit / 8
    burst = max(int(rate_bytes * BURST_S), MIN_BURST_FRAMES * FRAME)
    limit = burst + int(rate_bytes * LATENCY_S)
    return Tbf(rate_bit=rate_bit, burst_bytes=burst, limit_bytes=limit)


def shape(ns: str, dev: str, mbit: float) -> None:
    """Limit the egress of ``dev`` in ``ns`` to ``mbit``.

    Segmentation offloads are turned off first. A veth otherwise passes 64 KB
    TSO/GSO super-packets, and its counters count such a packet's headers
    once: bytes on the "wire" would be undercounted by the ~4.5 % of
    per-frame headers (and tbf would have to split them itself). With
    offloads off the counters see real frames, as on a physical WAN link.
    """
    run(["ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off"], ns=ns)
    run(["tc", "qdisc", "replace", "dev", dev, "root", *tbf_for(mbit).tc_args()], ns=ns)


@dataclass(frozen=True)
class Counters:
    rx_bytes: int
    tx_bytes: int

    def __sub__(self, other: Counters) -> Counters:
        return Counters(self.rx_bytes - other.rx_bytes, self.tx_bytes - other.tx_bytes)


def read_counters(ns: str, dev: str) -> Counters:
    """Bytes received and sent by ``dev`` so far, read inside ``ns``.

    ``ip netns exec`` mounts a fresh sysfs for the namespace, so
    /sys/class/net shows that namespace's devices. Counts are whole frames
    (Ethernet header included), as a WAN provider bills them.
    """
    base = f"/sys/class/net/{dev}/statistics"
    out = run(["cat", f"{base}/rx_bytes", f"{base}/tx_bytes"], ns=ns).split()
    return Counters(rx_bytes=int(out[0]), tx_bytes=int(out[1]))
