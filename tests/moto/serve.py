"""Runs moto's server (the local AWS API emulator) on 127.0.0.1 until killed.

Usage: python tests/moto/serve.py

The server binds a port the kernel picks (port 0) and prints
`serve.py: listening on 127.0.0.1:PORT` once the socket is bound. The test harness reads the
port from that line. A port probed by the parent and handed down would be free only until
someone else bound it: two tests starting at once could get the same port, and the loser would
talk to the winner's emulator (CI saw a fresh table "already exist" that way).

Before the server starts, every module `ext_*.py` beside this file is imported, in name
order. An extension adds what moto lacks (for example ext_rds_global.py adds the RDS global
cluster actions) by patching moto's backends and response classes at import time, so it has
to run before the first request is dispatched.

The server also exits when its parent process goes away, so a test run that is killed
(SIGKILL skips Rust's Drop) does not leave emulators behind.
"""

import importlib
import os
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load_extensions() -> list[str]:
    sys.path.insert(0, str(HERE))
    loaded = []
    for path in sorted(HERE.glob("ext_*.py")):
        # A broken extension must fail loudly: a server without it would make tests fail
        # later with a confusing "unknown action" instead.
        importlib.import_module(path.stem)
        loaded.append(path.stem)
    return loaded


def exit_when_orphaned(parent_pid: int) -> None:
    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(0)
            time.sleep(0.5)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def serialize_requests() -> None:
    """Handle one request at a time.

    Real AWS applies each call atomically (a DynamoDB conditional write checks and writes in
    one step). moto's threaded server runs requests concurrently over unlocked backends, so
    two racing conditional writes could both succeed there and concurrency tests would see
    lost updates that AWS never produces. moto calls are fast, so one lock costs little.
    """
    from moto.moto_server import werkzeug_app

    dispatcher = werkzeug_app.DomainDispatcherApplication
    unlocked_call = dispatcher.__call__
    lock = threading.Lock()

    def locked_call(self, environ, start_response):  # type: ignore[no-untyped-def]
        with lock:
            # Flask runs the view inside this call and returns a finished body, so the
            # whole API action happens under the lock.
            return unlocked_call(self, environ, start_response)

    dispatcher.__call__ = locked_call  # type: ignore[method-assign]


def serve_on_a_kernel_chosen_port() -> None:
    """What `moto.server.main` does, but on port 0, announcing the port once bound."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler
    )
    port = server.server_address[1]
    # moto builds some URLs (queue URLs, presigned links) from MOTO_PORT.
    os.environ["MOTO_PORT"] = str(port)
    print(f"serve.py: listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


def main() -> None:
    if len(sys.argv) != 1:
        sys.exit(f"usage: {sys.argv[0]}")

    exit_when_orphaned(os.getppid())
    loaded = load_extensions()
    print(f"serve.py: extensions loaded: {', '.join(loaded) or 'none'}", flush=True)

    serialize_requests()
    serve_on_a_kernel_chosen_port()


if __name__ == "__main__":
    main()
