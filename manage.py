#!/usr/bin/env python
from quarterdeck.cli import main

if __name__ == "__main__":
    main()
