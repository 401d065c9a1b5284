def pytest_addoption(parser):
    parser.addoption("--bundle", default="build/bundle", help="bundle folder to benchmark")
    parser.addoption("--ner-bundle", default="build/ner/bundle",
                     help="NER bundle folder (edgekit build --task ner)")
    parser.addoption("--uner-pud", default="../shared/data/uner_pud",
                     help="Universal NER PUD folder for the NER goal")
