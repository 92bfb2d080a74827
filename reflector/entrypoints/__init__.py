"""The processes and commands: the `reflector` command line, the supervisor of `reflector run`, the workers."""
