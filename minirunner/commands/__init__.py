"""The commands that do more than read a pipeline: run, inspect, logs."""
