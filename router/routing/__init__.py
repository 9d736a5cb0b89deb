"""The routing engine: the live index in Redis (key catalogue, Lua scripts), the directory of queues and
agents, the event stream, and live queue statistics."""
