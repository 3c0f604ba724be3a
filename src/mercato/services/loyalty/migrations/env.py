from mercato.chassis.data import run_env

run_env()
