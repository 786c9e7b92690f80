from scripe_api.cli import main

main()
