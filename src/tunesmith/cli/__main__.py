from tunesmith.cli import main

main()
