from harness.reference.apiserver.cli import main

main()
