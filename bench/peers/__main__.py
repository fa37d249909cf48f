"""`python -m bench.peers eventsourcing|plain|floor`: serve a peer on 127.0.0.1:`HTTP_PORT`.

Served as dispatch is (`shared.http.serve`): uvicorn, one process, its httptools
protocol with the same head cap, no access log.
"""

from __future__ import annotations

import os
import sys

import uvicorn

from shared.http.protocol import BoundedHeadProtocol

FACTORIES = {
    "eventsourcing": "bench.peers.eventsourcing_peer:create_app",
    "plain": "bench.peers.plain_peer:create_app",
    "floor": "bench.peers.floor_peer:create_app",
}


def main() -> None:
    """Serve the peer named on the command line until SIGINT/SIGTERM."""
    if len(sys.argv) != 2 or sys.argv[1] not in FACTORIES:
        raise SystemExit(f"usage: python -m bench.peers {'|'.join(FACTORIES)}")
    uvicorn.run(
        FACTORIES[sys.argv[1]],
        factory=True,
        host="127.0.0.1",
        port=int(os.environ["HTTP_PORT"]),
        log_level="warning",
        access_log=False,
        lifespan="on",
        http=BoundedHeadProtocol,
    )


if __name__ == "__main__":
    main()
