"""moto's server with every request handled under one lock.

`moto_server` runs moto's WSGI app in a threaded werkzeug server, and its
DynamoDB backend evaluates a ConditionExpression and applies the update
without a lock: two concurrent conditional UpdateItems on one item can both
succeed (edge/js/test/moto.test.mjs saw 2 winners for n=1 with plain
`moto_server`). DynamoDB itself applies conditional writes to one item
atomically, so for the concurrency tests this launcher restores that property
by serialising requests; everything else is moto's own server app, unchanged.

Usage: python3 moto_serialized.py HOST PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            # Materialise the body inside the lock: the backend's work is done
            # before the response leaves.
            return list(app(environ, start_response))

    run_simple(host, port, serialized, threaded=True)


if __name__ == "__main__":
    main()
