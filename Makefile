# SPDX-License-Identifier: GPL-3.0-or-later
# The front door: `make demo`, `make check`, `make bench` each work as the only
# command on a fresh Debian 12 machine (they run `make deps` first).

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
ASAN     ?= build-asan
TSAN     ?= build-tsan
FUZZ     ?= build-fuzz
FUZZ_SECONDS ?= 300
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

# Debian 12 packages: to build, to test, to make the demo song.
PKGS_BUILD = cmake make gcc g++ pkg-config libsndfile1-dev libflac-dev libebur128-dev libsoxr-dev \
             libfftw3-dev libyaml-dev libcmocka-dev libcairo2-dev libtag1-dev
PKGS_TEST  = ffmpeg sox flac chromium chromium-driver clang libclang-rt-14-dev valgrind
PKGS_DEMO  = fluidsynth fluid-soundfont-gm espeak-ng
PKGS       = $(PKGS_BUILD) $(PKGS_TEST) $(PKGS_DEMO)

.PHONY: all deps build demo check test test-asan test-tsan bench install clean docs format fuzz fuzz-smoke fuzz-build valgrind

all: build

deps:
	@missing=$$(for p in $(PKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	  done | tr '\n' ' '); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "make deps: installing $$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $$missing >/dev/null \
	    || { echo "make deps: apt-get install failed" >&2; exit 1; }; \
	else \
	  echo "make deps: missing Debian packages; run:"; \
	  echo "  sudo apt-get install $$missing"; \
	  exit 1; \
	fi

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DLATHE_WERROR=ON >/dev/null

build: $(BUILD)/Makefile
	cmake -S . -B $(BUILD) >/dev/null
	cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory

demo: deps build
	@bash demo/run.sh $(BUILD)/lathe

check: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DLATHE_WERROR=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DLATHE_WERROR=ON -DLATHE_SANITIZE=ON >/dev/null
	cmake --build $(ASAN) -j $(JOBS) -- --no-print-directory
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  LATHE_SANITIZED=1 ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-tsan
	$(MAKE) fuzz-smoke

# The tests that run threads (the engine's pool, the CLI at --threads 2, the
# analyser's parts, the analyze pool, cancellation) under ThreadSanitizer:
# the render scheduler once let a late worker take an item of the next step,
# which the byte checks caught only now and then and TSan at once. ASLR off
# (setarch -R): TSan's shadow memory fails on some kernels' mmap layouts.
TSAN_TESTS = test_engine test_determinism test_cli_analyze test_analyzer_parts test_cancel
test-tsan: deps
	cmake -S . -B $(TSAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLATHE_WERROR=ON -DLATHE_TSAN=ON >/dev/null
	cmake --build $(TSAN) -j $(JOBS) --target lathe $(TSAN_TESTS) -- --no-print-directory
	cd $(TSAN) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 LATHE_SANITIZED=1 \
	  setarch -R ctest --output-on-failure -j $(JOBS) -R '^($(subst $(eval) ,|,$(TSAN_TESTS)))$$'

# libFuzzer targets (docs/fuzzing.md): clang, ASan, UBSan, in $(FUZZ).
fuzz-build: deps
	cmake -S . -B $(FUZZ) -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_BUILD_TYPE=Debug -DLATHE_FUZZ=ON -DLATHE_TESTS=OFF >/dev/null
	cmake --build $(FUZZ) -j $(JOBS) --target fuzzers -- --no-print-directory

# FUZZ_SECONDS per target; new inputs and crashes go to fuzz/out/.
fuzz: fuzz-build
	bash fuzz/run.sh $(FUZZ) $(FUZZ_SECONDS)

# The committed corpus and 10 s of mutation per target; fails on any crash or leak.
fuzz-smoke: fuzz-build
	bash fuzz/run.sh $(FUZZ) 10 --smoke

# The CLI end-to-end tests with every lathe under valgrind memcheck (docs/testing.md):
# an optimised tree with debug info (-O2 -g) and no sanitizers, since valgrind cannot run ASan
# binaries. Slow (tens of minutes).
VALGRIND ?= build-valgrind
valgrind: deps
	cmake -S . -B $(VALGRIND) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLATHE_WERROR=ON -DLATHE_SANITIZE=OFF >/dev/null
	cmake --build $(VALGRIND) -j $(JOBS) -- --no-print-directory
	bash tests/valgrind/run.sh $(VALGRIND)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: deps build
	@bash bench/run.sh $(BUILD)/lathe

docs: build
	$(BUILD)/lathe processors --markdown > docs/processors.md

install: deps
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
