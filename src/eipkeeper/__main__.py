from eipkeeper.cli.main import main

main()
