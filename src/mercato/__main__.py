from mercato.cli.main import app

app(prog_name="mercato")
