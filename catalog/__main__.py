from catalog.bootstrap import main

main()
