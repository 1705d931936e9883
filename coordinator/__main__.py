from coordinator.bootstrap import main

main()
