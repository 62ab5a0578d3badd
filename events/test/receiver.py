"""A webhook receiver for the events Lambda's tests: verifies every
signature independently of the Lambda's code (Python stdlib hmac, as the
snippet in docs/events.md does) and records every attempt.

    python3 receiver.py SECRET   -> prints its port, then serves on 127.0.0.1

POST /hook          an attempt: answered 204 when up, 503 when down
POST /control/up    start accepting
POST /control/down  answer 503 (the receiver is "down"; attempts are still recorded)
GET  /attempts      every attempt so far: [{"id","timestamp","valid","answered","body"}]
"""

import base64
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = sys.argv[1]
KEY = base64.b64decode(SECRET.removeprefix("whsec_"))
state = {"up": False, "attempts": []}
lock = threading.Lock()


def valid(msg_id, timestamp, signature, body):
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest()).decode()
    fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= 300
    return fresh and any(
        hmac.compare_digest(expected, s.removeprefix("v1,")) for s in signature.split(" ") if s.startswith("v1,")
    )


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path in ("/control/up", "/control/down"):
            with lock:
                state["up"] = self.path.endswith("up")
            return self.answer(204)
        h = self.headers
        ok = valid(h.get("webhook-id", ""), h.get("webhook-timestamp", ""), h.get("webhook-signature", ""), body)
        with lock:
            answered = 204 if state["up"] else 503
            state["attempts"].append(
                {
                    "id": h.get("webhook-id"),
                    "timestamp": h.get("webhook-timestamp"),
                    "valid": ok,
                    "answered": answered,
                    "content_type": h.get("content-type"),
                    "body": body.decode(),
                }
            )
        self.answer(answered)

    def do_GET(self):
        with lock:
            data = json.dumps(state["attempts"]).encode()
        self.answer(200, data)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
