"""cgw: the carrier gateway's command line."""
