# Two commands: `make demo` (install, then the main job) and `make test` (install, then every test).
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
DATA   ?= ../shared/data
PRESET ?= default

.PHONY: install jvm demo ner bench bench-arm64 bench-micro test lint clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: letting pip choose would pull a CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]' torch==2.13.0
	touch $@

install: $(VENV)/.installed

# the Android app's Kotlin core is tested on the JVM: Debian's kotlin and junit5
jvm:
	@command -v kotlinc >/dev/null 2>&1 && [ -f /usr/share/java/junit-platform-console-standalone.jar ] \
		|| apt-get install -y -q kotlin junit5 >/dev/null \
		|| { echo "make: install Kotlin and JUnit 5: sudo apt install kotlin junit5" >&2; exit 2; }

# every training text is kept away from the evaluation sets
EXCLUDE := $(foreach d,tatoeba sts17 uner_pud,--exclude $(DATA)/$(d))

demo: install
	$(BIN)/edgekit build --target android --preset $(PRESET) --out build \
		--tatoeba $(DATA)/tatoeba --sts17 $(DATA)/sts17 $(EXCLUDE)

# the NER tagger -> build/ner/. Its transfer stages also read name-rich text:
# news-style sentences with Faker's names (`edgekit name-text`), the quotations of Debian's
# fortunes packages (installed when missing, which needs root), and the histories of
# Freeciv's nations as its translators wrote them (encyclopedic prose full of places, peoples
# and rulers; for en, the English originals of the ru catalog's, which translates them all),
# unpacked from Debian's freeciv-data into build/: installing it would add its
# catalogs to the machine's, which the encoder's corpus reads
NAME_TEXT := build/name-text
FORTUNES := /usr/share/games/fortunes
FREECIV_MO := build/freeciv/usr/share/locale
NER_MONO := $(foreach l,de en es fr pt ru sv zh,$(l)=$(NAME_TEXT)/$(l)) \
	de=$(FORTUNES)/de ru=$(FORTUNES)/ru es=$(FORTUNES)/es pt=$(FORTUNES)/brasil \
	zh=$(FORTUNES)/chinese zh=$(FORTUNES)/tang300 \
	$(foreach f,fortunes literature people humorists wisdom politics science,en=$(FORTUNES)/$(f)) \
	$(foreach l,de ru es fr sv,$(l)=$(FREECIV_MO)/$(l)/LC_MESSAGES/freeciv-nations.mo) \
	pt=$(FREECIV_MO)/pt_BR/LC_MESSAGES/freeciv-nations.mo \
	en=$(FREECIV_MO)/ru/LC_MESSAGES/freeciv-nations.mo
$(FREECIV_MO):
	mkdir -p build/debs
	cd build/debs && apt-get download -q freeciv-data >/dev/null 2>&1 \
		|| { echo "make: cannot download freeciv-data from Debian's archive (apt-get download freeciv-data)" >&2; exit 2; }
	rm -rf build/freeciv.tmp && dpkg-deb -x build/debs/freeciv-data_*.deb build/freeciv.tmp
	mv build/freeciv.tmp build/freeciv
ner: install $(FREECIV_MO)
	@ls $(filter $(FORTUNES)/%,$(foreach m,$(NER_MONO),$(lastword $(subst =, ,$(m))))) \
		>/dev/null 2>&1 \
		|| apt-get install -y -q fortunes fortunes-de fortunes-ru fortunes-br fortunes-es \
			fortunes-zh >/dev/null \
		|| { echo "make: install the text: sudo apt install fortunes fortunes-de fortunes-ru fortunes-br fortunes-es fortunes-zh" >&2; exit 2; }
	$(BIN)/edgekit name-text --out $(NAME_TEXT) >/dev/null
	$(BIN)/edgekit build --target android --task ner --ner-train $(DATA)/uner_train \
		--uner-pud $(DATA)/uner_pud --out build/ner $(addprefix --mono ,$(NER_MONO)) \
		$(EXCLUDE)

# after `make demo`: teacher against student under every device profile -> build/bench/
bench: install
	$(BIN)/edgekit export build/student --out build/bundle-linux --target linux \
		--tatoeba $(DATA)/tatoeba --sts17 $(DATA)/sts17
	$(BIN)/edgekit export intfloat/multilingual-e5-small --out build/teacher-bundle \
		--target android --precision fp32 --tatoeba $(DATA)/tatoeba --sts17 $(DATA)/sts17
	$(BIN)/edgekit export intfloat/multilingual-e5-small --out build/teacher-pte-int8 \
		--target executorch --precision int8
	$(BIN)/edgekit bench build/bundle-linux --teacher build/teacher-bundle \
		--teacher build/teacher-pte-int8 --profile all --out build/bench

# after `make bench`: the same bundles on emulated Cortex-A53 and A76 cores -> build/bench-arm64/
# (the first run sets up qemu and an arm64 root file system: root, ~10 GB, ~10 min)
bench-arm64: install
	$(BIN)/edgekit bench build/bundle-linux --teacher build/teacher-bundle \
		--teacher build/teacher-pte-int8 --emulate all --out build/bench-arm64

bench-micro: install
	$(BIN)/pytest bench/ --benchmark-only --bundle build/bundle

lint: install
	$(BIN)/ruff check .

# two workers, one test file each at a time (module fixtures are built once)
test: lint jvm
	EDGEKIT_REQUIRE_KOTLIN=1 $(BIN)/pytest -q -n 2 --dist loadfile

clean:
	rm -rf build
