"""The two things an admin would do without p2pdist, with stock tools.

``http``: every client fetches the file from one nginx at HQ with curl.
``bittorrent``: plain BitTorrent: opentracker and an aria2c seed at HQ,
aria2c on every client. Both use the tools' defaults; the only options set
are the ones a closed lab needs (no DHT or local peer discovery: there is
no internet and no multicast to find peers with) and the ones that keep
peers seeding until the bench stops them.
"""

from __future__ import annotations

import os
import re
import time
from typing import ClassVar

from lab import torrentfile
from lab.scenarios import register
from lab.topology import Lab
from lab.waiting import POLL_S, wait_exits, wait_markers
from salt_p2pdist.testing.waiting import wait_for

HTTP_PORT = 80
TRACKER_PORT = 6969
READY_TIMEOUT_S = 60.0

NGINX_CONF = """\
# A private nginx instance of the lab: own prefix, pid and temp dirs; the
# host's nginx configuration is not read.
daemon off;
master_process on;
worker_processes auto;
user nobody nogroup;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    sendfile on;
    default_type application/octet-stream;
    server {{
        listen {ip}:{port};
        root {root};
    }}
}}
"""


@register
class Http:
    name: ClassVar[str] = "http"
    tools: ClassVar[tuple[str, ...]] = ("nginx", "curl")

    def prepare(self, lab: Lab) -> None:
        www, conf_dir = lab.hq_dir / "www", lab.hq_dir / "nginx"
        www.mkdir()
        conf_dir.mkdir()
        os.link(lab.payload, www / lab.payload.name)  # same inode: no copy
        conf = conf_dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(d=conf_dir, ip=lab.hq_ip, port=HTTP_PORT, root=www))
        lab.spawn(lab.hq_ns, ["nginx", "-p", str(conf_dir), "-e", "stderr", "-c", str(conf)],
                  log_name="nginx")
        # Probe from inside HQ itself, so no readiness check crosses the WAN.
        url = self._url(lab)
        probe = ["curl", "-sf", "-r", "0-0", "-o", "/dev/null", url]
        wait_for("nginx at HQ", lambda: _succeeds(lab, lab.hq_ns, probe),
                 timeout=READY_TIMEOUT_S, every=POLL_S)

    def run(self, lab: Lab) -> dict[str, float | None]:
        url, start = self._url(lab), time.monotonic()
        procs = {
            c.name: lab.spawn(c.ns, ["curl", "-sS", "--fail", "-o", str(lab.dest(c)), url],
                              log_name=f"curl-{c.name}")
            for c in lab.clients
        }
        return wait_exits(procs, start=start, timeout=lab.params.timeout_s)

    @staticmethod
    def _url(lab: Lab) -> str:
        return f"http://{lab.hq_ip}:{HTTP_PORT}/{lab.payload.name}"


def _succeeds(lab: Lab, ns: str, argv: list[str]) -> bool:
    try:
        lab.run(ns, argv, timeout=10)
    except RuntimeError:
        return False
    return True


# aria2c options: peers found only through the tracker (and PEX, on by
# default), and seed-ratio 0.0 = keep seeding however much was uploaded
# (the default, 1.0, would make clients stop sharing early).
ARIA2_LAB_OPTIONS = (
    "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
    "--seed-ratio=0.0", "--summary-interval=0", "--show-console-readout=false",
)
# Runs when a client's download is complete, before it goes on seeding.
DONE_HOOK = '#!/bin/sh\n# args: gid, number of files, first file path\ntouch "$3.done"\n'


@register
class BitTorrent:
    name: ClassVar[str] = "bittorrent"
    tools: ClassVar[tuple[str, ...]] = ("opentracker", "aria2c", "mktorrent", "curl")

    def prepare(self, lab: Lab) -> None:
        seed_dir, tracker_dir = lab.hq_dir / "seed", lab.hq_dir / "tracker"
        seed_dir.mkdir()
        tracker_dir.mkdir()
        os.link(lab.payload, seed_dir / lab.payload.name)
        announce = f"http://{lab.hq_ip}:{TRACKER_PORT}/announce"
        self.torrent = lab.hq_dir / "payload.torrent"
        lab.run(lab.hq_ns, ["mktorrent", "-a", announce, "-o", str(self.torrent),
                            str(seed_dir / lab.payload.name)])
        info_hash = torrentfile.info_hash(self.torrent.read_bytes())

        # Debian builds opentracker as a closed tracker: only whitelisted
        # info hashes are tracked. Whitelisting ours is its documented use.
        (tracker_dir / "whitelist.txt").write_text(info_hash.hex() + "\n")
        conf = tracker_dir / "opentracker.conf"
        # Running as root, opentracker chroots into tracker.rootdir before it
        # reads the whitelist: the path is relative to that new root.
        conf.write_text("access.whitelist /whitelist.txt\n"
                        f"tracker.rootdir {tracker_dir}\ntracker.user nobody\n")
        lab.spawn(lab.hq_ns, ["opentracker", "-f", str(conf), "-i", lab.hq_ip,
                              "-p", str(TRACKER_PORT), "-P", str(TRACKER_PORT)],
                  log_name="opentracker")
        lab.spawn(lab.hq_ns, ["aria2c", *ARIA2_LAB_OPTIONS, "--check-integrity=true",
                              f"--dir={seed_dir}", str(self.torrent)], log_name="aria2c-seed")
        self.hook = lab.hq_dir / "done-hook.sh"
        self.hook.write_text(DONE_HOOK)
        self.hook.chmod(0o755)
        # Clients start only once the tracker knows a complete seed.
        scrape = ["curl", "-sf", f"http://{lab.hq_ip}:{TRACKER_PORT}/scrape?info_hash="
                  + torrentfile.url_quote(info_hash)]
        wait_for("the seed at HQ to reach the tracker", lambda: _seeders(lab, scrape) >= 1,
                 timeout=READY_TIMEOUT_S, every=POLL_S)

    def run(self, lab: Lab) -> dict[str, float | None]:
        start = time.monotonic()
        procs = {
            c.name: lab.spawn(c.ns, ["aria2c", *ARIA2_LAB_OPTIONS,
                                     f"--on-bt-download-complete={self.hook}",
                                     f"--dir={c.dir}", str(self.torrent)],
                              log_name=f"aria2c-{c.name}")
            for c in lab.clients
        }
        markers = {c.name: lab.dest(c).with_name(lab.payload.name + ".done")
                   for c in lab.clients}
        return wait_markers(markers, start=start, timeout=lab.params.timeout_s,
                            alive=lambda name: procs[name].poll() is None)


def _seeders(lab: Lab, scrape: list[str]) -> int:
    try:
        out = lab.run(lab.hq_ns, scrape, timeout=10)
    except RuntimeError:
        return 0
    found = re.search(r"8:completei(\d+)e", out)
    return int(found.group(1)) if found else 0
