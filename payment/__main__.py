from payment.bootstrap import main

main()
