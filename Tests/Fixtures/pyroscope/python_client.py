#!/usr/bin/env python3
"""Grafana's own Python client (pyroscope-io, a Rust core) pushing to URL for a few seconds, with a wall-clock
shape of data like swift-pmp's: threads with names, most of them waiting. Usage: python_client.py URL SECONDS."""
import sys, threading, time
import pyroscope

url, seconds = sys.argv[1], float(sys.argv[2])
pyroscope.configure(application_name="py.test.app", server_address=url, tags={"env": "test"},
                    basic_auth_username="u", basic_auth_password="p", tenant_id="tenant-a",
                    oncpu=False, gil_only=False, report_thread_name=True, upload_interval=1, sample_rate=100)


def waiting():
    while True:
        time.sleep(0.05)


def busy():
    while True:
        sum(range(10000))


for target, name in [(waiting, "worker-1"), (waiting, "worker-2"), (busy, "busy-1")]:
    threading.Thread(target=target, name=name, daemon=True).start()
time.sleep(seconds)
pyroscope.shutdown()
