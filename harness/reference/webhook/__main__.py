from harness.reference.webhook.server import main

if __name__ == "__main__":
    main()
