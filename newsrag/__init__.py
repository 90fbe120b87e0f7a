"""The newsrag command line, the one layer above the service (api), the evaluation harness (eval) and
the engine (rag); it reads the CLI's settings and hands them down."""
