"""pachflow control CLI."""

import os

# `pachflow run` serves Pachyderm's NextDatum gRPC API in its own process (datum batching)
# and forks the datum processes meanwhile (fork, not vfork: the parent-death signal is set
# by a preexec_fn). grpcio's fork handlers, on by default, then run at every fork: they
# printed "fork_posix.cc:71 Other threads are currently calling into gRPC, skipping fork()
# handlers" into the run's output, and when the server is idle they stop and restart its
# pollers around the fork. They exist for a child that uses gRPC after fork; ours only
# set the signal and exec. grpcio reads this once, when it is first imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
