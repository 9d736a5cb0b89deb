"""Everything the tests share, one module per kind of helper.

- ``configs``: the test TOML configurations, built from one base (queues, agents, rules, adapters);
- ``servers``: the backing services, omniroute servers in this process or as ``python -m router serve``;
- ``agents``: an agent desktop over the real websocket;
- ``engine``: the routing engine's live index and event stream, read directly (engine layer);
- ``recorders``: recording HTTP servers (a provider's API, the router's API as adapters see it) and
  an SMTP relay;
- ``providers``: the recorded provider payloads, signed webhook posts, sample e-mails;
- ``ports``: free loopback ports.
"""
