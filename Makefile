# The two commands of the README: `make demo` and `make test`. Both install
# what is missing, configure and build first.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release -DKILN_WERROR=ON

.PHONY: all deps configure build demo test sanitize fuzz fuzz-long lint static-analysis api-update abi-update coverage perf-check tsan clean

all: build

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/tools/kiln demo

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Static checks: the layering rules of DESIGN.md section 2 over the real
# include graph (and the checker's own self-test).
# clang-tidy and cppcheck over src/ (.clang-tidy, .cppcheck/suppressions.txt).
static-analysis: configure
	JOBS=$(JOBS) scripts/static-analysis $(BUILD)

# The public API surface (api/PublicAPI.*.txt) and the ABI of libkiln.so
# (api/libkiln.abi), from a Release build with -g so abidiff sees the types;
# the layering rules; static analysis.
lint: configure static-analysis
	scripts/arch-check --build-dir $(BUILD)
	scripts/arch-check --self-test
	@cmake -S . -B $(BUILD)-abi -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-g >/dev/null
	@cmake --build $(BUILD)-abi -j $(JOBS) --target kiln
	scripts/api-check $(BUILD)-abi/src/libkiln.so
	scripts/abi-check $(BUILD)-abi/src/libkiln.so

# Record new public declarations in api/PublicAPI.Unshipped.txt.
api-update: deps
	scripts/api-check --update

# Rewrite the ABI baseline after an intended change (recorded in CHANGELOG.md).
abi-update: deps
	@cmake -S . -B $(BUILD)-abi -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-g >/dev/null
	@cmake --build $(BUILD)-abi -j $(JOBS) --target kiln
	scripts/abi-check --update $(BUILD)-abi/src/libkiln.so

# The whole suite under AddressSanitizer and UndefinedBehaviorSanitizer.
sanitize: deps
	@cmake -S . -B $(BUILD)-sanitize -DCMAKE_BUILD_TYPE=Debug -DKILN_SANITIZE=ON -DKILN_WERROR=ON >/dev/null
	@cmake --build $(BUILD)-sanitize -j $(JOBS)
	cd $(BUILD)-sanitize && ctest --output-on-failure -j $(JOBS)

# The multi-threaded tests under ThreadSanitizer (the CPU backend's pool,
# one context shared by many threads, the CPU contract tests).
TSAN_TESTS = test-core-threads|test-cpu-launch|test-cpu-latency|contract-execution-cpu|contract-memory-cpu|test-govern-policy-reload|test-govern-policy-decide|test-govern-quota|test-govern-audit-io|test-govern-audit-verify|test-govern-sched|test-core-session|test-core-sched|test-core-health|test-core-fallback|test-chaos
tsan: deps
	@cmake -S . -B $(BUILD)-tsan -DCMAKE_BUILD_TYPE=Debug -DKILN_WERROR=ON \
		-DCMAKE_C_FLAGS=-fsanitize=thread -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread \
		-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread >/dev/null
	@cmake --build $(BUILD)-tsan -j $(JOBS)
	cd $(BUILD)-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -R '$(TSAN_TESTS)'

# Short libFuzzer runs of every fuzz target (clang; docs/fuzzing.md): 90 s
# in all, split over the targets.
fuzz: deps
	@CC=clang cmake -S . -B $(BUILD)-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKILN_BUILD_FUZZERS=ON \
		-DKILN_FUZZ_TARGET_SECONDS=0 -DKILN_FUZZ_EXTRA_ARGS= >/dev/null
	@cmake --build $(BUILD)-fuzz -j $(JOBS) --target kiln_fuzzers
	cd $(BUILD)-fuzz && ctest --output-on-failure -L fuzz

# The pre-release run: every target for FUZZ_SECONDS, FUZZ_JOBS processes
# each (libFuzzer -fork); new inputs stay in $(BUILD)-fuzz-long, crashes go
# to its tests/fuzz/artifacts/ (docs/fuzzing.md: triage and regression seeds).
FUZZ_SECONDS ?= 3600
FUZZ_JOBS ?= $(JOBS)
fuzz-long: deps
	@CC=clang cmake -S . -B $(BUILD)-fuzz-long -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DKILN_BUILD_FUZZERS=ON -DKILN_FUZZ_TARGET_SECONDS=$(FUZZ_SECONDS) \
		-DKILN_FUZZ_EXTRA_ARGS=-fork=$(FUZZ_JOBS) >/dev/null
	@cmake --build $(BUILD)-fuzz-long -j $(JOBS) --target kiln_fuzzers
	cd $(BUILD)-fuzz-long && ctest --output-on-failure -L fuzz $(if $(FUZZ_TARGETS),-R '$(FUZZ_TARGETS)')

# Line and branch coverage of src/ by the whole suite, with a per-folder
# table; fails below scripts/coverage-floor.txt (raise it with
# scripts/coverage --update-floor).
coverage: deps
	@scripts/coverage --build-dir $(BUILD)-cov

# Host-side instruction counts under callgrind against perf/baseline.json;
# fails on more than 3% growth (scripts/perf-check --update after an
# intended change).
perf-check: deps
	@scripts/perf-check --build-dir $(BUILD)-perfcheck

clean:
	rm -rf $(BUILD) $(BUILD)-sanitize $(BUILD)-fuzz $(BUILD)-abi $(BUILD)-cov $(BUILD)-perfcheck $(BUILD)-tsan
