from harness.reference.webhook.endpoint import main

if __name__ == "__main__":
    main()
