#!/usr/bin/env python3
"""Link delay without sch_netem: relay Ethernet frames between two interfaces, each held N ms.

    delay_relay.py --delay-ms 25 IF_A IF_B

Runs in a namespace of its own between two veths (tests/e2e/lib.sh e2e_delay_start), so the two
hosts on either side share one Ethernet segment and every frame (ARP, ND, IP) crosses with
N ms of delay in each direction: 25 ms each way gives a 50 ms round trip. Offloads must be off
on the links (ethtool -K IF tx off tso off gso off gro off) so that frames fit the MTU and carry
complete checksums. Frames are kept in order; nothing is dropped unless the kernel drops it.
Stops on SIGTERM/SIGINT.
"""

import argparse
import collections
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def open_if(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.bind((name, 0))
    s.setblocking(False)
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--delay-ms", type=float, required=True, help="delay in each direction")
    ap.add_argument("if_a")
    ap.add_argument("if_b")
    a = ap.parse_args()
    delay = a.delay_ms / 1000.0

    sa, sb = open_if(a.if_a), open_if(a.if_b)
    peer = {sa: sb, sb: sa}
    queues = {sa: collections.deque(), sb: collections.deque()}  # frames to send out of key
    stats = {"frames": 0, "max_late_ms": 0.0}
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"relaying {a.if_a} <-> {a.if_b} with {a.delay_ms:g} ms each way", flush=True)

    while running:
        now = time.monotonic()
        # Send what is due, in order.
        next_due = None
        for out, q in queues.items():
            while q and q[0][0] <= now:
                due, frame = q.popleft()
                try:
                    out.send(frame)
                except BlockingIOError:
                    q.appendleft((due, frame))
                    break
                except OSError as e:  # e.g. EMSGSIZE: a frame larger than the MTU (offloads on?)
                    print(f"send failed ({len(frame)} bytes): {e}", file=sys.stderr, flush=True)
                    continue
                stats["frames"] += 1
                stats["max_late_ms"] = max(stats["max_late_ms"], (now - due) * 1000)
            if q:
                next_due = q[0][0] if next_due is None else min(next_due, q[0][0])
        timeout = None if next_due is None else max(0.0, next_due - time.monotonic())
        try:
            ready, _, _ = select.select([sa, sb], [], [], timeout)
        except InterruptedError:
            continue
        arrived = time.monotonic()
        for s in ready:
            while True:
                try:
                    frame, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:  # our own sends, seen on the way out
                    continue
                queues[peer[s]].append((arrived + delay, frame))

    print(f"relayed {stats['frames']} frames, at most {stats['max_late_ms']:.2f} ms late", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
