#!/usr/bin/env python3
"""A webhook receiver for origin-shim's tests, independent of the Rust code:
it checks every delivery's Standard Webhooks signature with Python's hmac,
hashlib and base64 alone (https://www.standardwebhooks.com).

    receiver.py PORT SECRET_FILE LOG_FILE

Listens on 127.0.0.1:PORT; for each POST appends one JSON line to LOG_FILE:
{"webhook_id", "signature_ok", "timestamp_ok", "body"}, and answers 204 when
the signature and the timestamp (within 5 minutes) are right, else 400.
Prints "ready" once it listens.
"""

import base64
import hashlib
import hmac
import http.server
import json
import sys
import threading
import time

PORT, SECRET_FILE, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(SECRET_FILE) as f:
    SECRET = base64.b64decode(f.readline().strip().removeprefix("whsec_"))
LOCK = threading.Lock()


class Hook(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        msg_id = self.headers.get("webhook-id", "")
        stamp = self.headers.get("webhook-timestamp", "")
        signed = f"{msg_id}.{stamp}.".encode() + body
        want = base64.b64encode(hmac.new(SECRET, signed, hashlib.sha256).digest()).decode()
        given = [s.removeprefix("v1,") for s in self.headers.get("webhook-signature", "").split(" ") if s.startswith("v1,")]
        signature_ok = any(hmac.compare_digest(want, g) for g in given)
        timestamp_ok = stamp.isdigit() and abs(time.time() - int(stamp)) <= 300
        line = {"webhook_id": msg_id, "signature_ok": signature_ok, "timestamp_ok": timestamp_ok,
                "content_type": self.headers.get("content-type"), "body": body.decode("utf-8", "replace")}
        with LOCK, open(LOG, "a") as log:
            log.write(json.dumps(line) + "\n")
        self.send_response(204 if signature_ok and timestamp_ok else 400)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Hook)
print("ready", flush=True)
server.serve_forever()
