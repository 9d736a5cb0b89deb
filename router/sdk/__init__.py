"""What a channel adapter may import: the router client, the adapter protocol and the adapter host."""
