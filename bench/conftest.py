def pytest_addoption(parser):
    parser.addoption("--bundle", default="build/bundle", help="bundle folder to benchmark")
