"""Websockets: agent and supervisor sockets, their sessions, and event dispatch to them."""
