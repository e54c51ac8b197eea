#!/usr/bin/env python3
"""Put load on an etcd v3 cluster through its HTTP/JSON gateway (/v3/kv/put).

Debian packages no etcd `benchmark` tool, so this is the load generator that
fs_bench.sh compares paxosfs's 16-writer IOPS against. Standard library only.
CLIENTS connections (keep-alive HTTP/1.1, one blocking thread each) are spread
over PROCS processes, so the GIL is not the limit, and round-robin over the
endpoints, as etcd's own benchmark spreads its clients. Every put has a new
key and a VALUE_BYTES value. Requests are built as raw bytes to keep the
client's CPU cost low; that cost is printed (client_cores = client CPU
seconds / wall seconds), because on a small machine the client competes with
etcd for the same cores.

Prints name=value lines: etcd_puts_s, etcd_p50_us, etcd_p99_us, client_cores.
"""
import argparse
import base64
import multiprocessing
import os
import socket
import threading
import time


def put_loop(host, port, tag, body_tail, t_start, t_end, out):
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    head = f"POST /v3/kv/put HTTP/1.1\r\nHost: {host}:{port}\r\n"
    head += "Content-Type: application/json\r\n"
    lat = []
    n = 0
    while True:
        key = base64.b64encode(f"bench/{tag}/{n}".encode()).decode()
        body = ('{"key":"' + key + '",' + body_tail).encode()
        req = (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        t0 = time.monotonic()
        sock.sendall(req)
        read_response(sock)
        now = time.monotonic()
        n += 1
        if now >= t_end:
            break
        if now >= t_start:
            lat.append(now - t0)
    sock.close()
    out.append(lat)


def read_response(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("etcd closed the connection")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError("etcd answered " + head.split(b"\r\n")[0].decode())
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        body += sock.recv(65536)


def run_process(proc, endpoints, clients, body_tail, t_start, t_end, queue):
    out = []
    threads = []
    for c in clients:
        host, port = endpoints[c % len(endpoints)]
        t = threading.Thread(target=put_loop, args=(
            host, port, f"{proc}-{c}", body_tail, t_start, t_end, out))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    queue.put([x for lat in out for x in lat])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--endpoints", required=True, help="host:port,...")
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--procs", type=int, default=4)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--warmup", type=float, default=1)
    p.add_argument("--value-bytes", type=int, default=4096)
    a = p.parse_args()
    endpoints = [(h, int(port)) for h, port in
                 (e.rsplit(":", 1) for e in a.endpoints.split(","))]
    value = base64.b64encode(os.urandom(a.value_bytes)).decode()
    body_tail = '"value":"' + value + '"}'
    t_start = time.monotonic() + a.warmup
    t_end = t_start + a.seconds
    queue = multiprocessing.Queue()
    procs = []
    for i in range(a.procs):
        mine = list(range(i, a.clients, a.procs))
        pr = multiprocessing.Process(target=run_process, args=(
            i, endpoints, mine, body_tail, t_start, t_end, queue))
        pr.start()
        procs.append(pr)
    lat = []
    for _ in procs:
        lat += queue.get()
    for pr in procs:
        pr.join()
        if pr.exitcode != 0:
            raise SystemExit(f"etcd_load: a client process failed ({pr.exitcode})")
    wall = time.monotonic() - (t_start - a.warmup)
    t = os.times()
    lat.sort()
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1e6 if lat else 0
    print(f"etcd_puts_s={len(lat) / a.seconds:.0f}")
    print(f"etcd_p50_us={pct(0.50):.0f}")
    print(f"etcd_p99_us={pct(0.99):.0f}")
    print(f"client_cores={(t.children_user + t.children_system) / wall:.2f}")


if __name__ == "__main__":
    main()
