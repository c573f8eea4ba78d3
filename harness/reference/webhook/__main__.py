from harness.reference.webhook.server import main

main()
