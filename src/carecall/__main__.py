from carecall.cli.main import run

run()
