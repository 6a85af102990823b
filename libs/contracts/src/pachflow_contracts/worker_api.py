"""Pachyderm's worker API as datum batching speaks it (the `worker` extra: grpcio,
pachyderm_sdk): a stage started with PPS_WORKER_GRPC_PORT calls
`/pachyderm.worker.Worker/NextDatum` to report its last datum and get the next one.
`serve_next_datum` is that server on loopback, with pachyderm_sdk's own message types:
pachflow's local runner serves it, and etl's tests stand in for a worker with it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpc
from pachyderm_sdk.api.worker import NextDatumRequest, NextDatumResponse

SERVICE = "pachyderm.worker.Worker"

NextDatum = Callable[[NextDatumRequest, grpc.ServicerContext], NextDatumResponse]


def serve_next_datum(next_datum: NextDatum, threads: int = 4) -> tuple[grpc.Server, int]:
    """A started gRPC server on 127.0.0.1 (a free port) answering NextDatum calls with
    `next_datum`, and its port. The caller stops it."""
    server = grpc.server(ThreadPoolExecutor(max_workers=threads, thread_name_prefix="next-datum"))
    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "NextDatum": grpc.unary_unary_rpc_method_handler(
                next_datum,
                request_deserializer=NextDatumRequest.FromString,
                response_serializer=bytes,
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port
