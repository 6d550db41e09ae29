"""Where functions and carrier simulators run: function workers in processes of their own
(`runtime`, `worker`), each simulator in its own process (`simulator_process`) and its wiring
to the gateway (`carriers`)."""
