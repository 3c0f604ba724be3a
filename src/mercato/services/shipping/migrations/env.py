from mercato.chassis.data.migrations import run_env

run_env()
