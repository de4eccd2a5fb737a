from gong.cli import main

main()
