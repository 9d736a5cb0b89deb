"""Offline tools behind the ``tools`` extra: staffing (Erlang), forecast, the simulator and the benchmark.
The CLI imports them lazily; the server never does."""
