# Thin driver around CMake/CTest. Real build logic lives in CMakeLists.txt.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.NOTPARALLEL:
.DEFAULT_GOAL := all
MAKEFLAGS += --no-print-directory

BUILD_DIR    ?= build
SAN_DIR      ?= build-san
FUZZ_DIR     ?= build-fuzz
JOBS         ?= 2
FUZZ_SECONDS ?= 5
CLANG        ?= clang

SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
           UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
           AECS_BIN=$(CURDIR)/$(SAN_DIR)/aecs

.PHONY: all build deps check test check-sanitize build-sanitize fuzz fuzz-smoke \
        bench demo demo-attestation clean format

all: build

# --- configure steps: run only when the build dir is not configured yet -----
$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(SAN_DIR)/CMakeCache.txt:
	cmake -S . -B $(SAN_DIR) -DAECS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
	      -DCMAKE_C_COMPILER=$(CLANG)

$(FUZZ_DIR)/CMakeCache.txt:
	cmake -S . -B $(FUZZ_DIR) -DAECS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	      -DCMAKE_C_COMPILER=$(CLANG) -DBUILD_TESTING=OFF

# --- build ------------------------------------------------------------------
build: $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

deps:
	@bash scripts/deps.sh

# --- tests ------------------------------------------------------------------
check: deps build test check-sanitize

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(JOBS)

build-sanitize: $(SAN_DIR)/CMakeCache.txt
	cmake --build $(SAN_DIR) -j$(JOBS)

check-sanitize: build-sanitize
	$(SAN_ENV) ctest --test-dir $(SAN_DIR) --output-on-failure -j$(JOBS)

# --- fuzzing ----------------------------------------------------------------
fuzz: $(FUZZ_DIR)/CMakeCache.txt
	cmake --build $(FUZZ_DIR) -j$(JOBS)

# Runs each fuzzer for FUZZ_SECONDS on a scratch copy of fuzz/corpus/<stem>/.
fuzz-smoke: fuzz
	@shopt -s nullglob; fail=0; n=0; \
	mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/logs $(FUZZ_DIR)/artifacts; \
	for bin in $(FUZZ_DIR)/fuzz/*; do \
	  [[ -f "$$bin" && -x "$$bin" ]] || continue; \
	  stem=$$(basename "$$bin"); \
	  [[ -f fuzz/$$stem.c ]] || { echo "fuzz-smoke: skipping stale $$bin (no fuzz/$$stem.c)"; continue; }; \
	  n=$$((n + 1)); \
	  corpus=$(FUZZ_DIR)/corpus/$$stem; log=$(FUZZ_DIR)/logs/$$stem.log; \
	  rm -rf "$$corpus"; mkdir -p "$$corpus"; \
	  if [[ -d fuzz/corpus/$$stem ]]; then cp -R fuzz/corpus/$$stem/. "$$corpus"/; fi; \
	  seeds=$$(find "$$corpus" -type f | wc -l); \
	  rc=0; timeout -k 10 $$(( $(FUZZ_SECONDS) + 120 )) "$$bin" \
	      -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	      -artifact_prefix=$(FUZZ_DIR)/artifacts/$$stem- "$$corpus" >"$$log" 2>&1 || rc=$$?; \
	  runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' "$$log" | tail -n1); \
	  if [[ $$rc -eq 0 ]]; then \
	    echo "fuzz-smoke: $$stem OK ($${runs:-?} execs in $(FUZZ_SECONDS)s, $$seeds seeds)"; \
	  else \
	    echo "fuzz-smoke: $$stem FAILED (exit $$rc, log $$log)"; tail -n 60 "$$log" | sed 's/^/    /'; \
	    fail=1; \
	  fi; \
	done; \
	if [[ $$n -eq 0 ]]; then echo "fuzz-smoke: no fuzzers built (fuzz/*.c)"; fi; \
	exit $$fail

# --- benchmarks -------------------------------------------------------------
bench: build
	@shopt -s nullglob; fail=0; n=0; \
	for bin in $(BUILD_DIR)/bench/*; do \
	  [[ -f "$$bin" && -x "$$bin" ]] || continue; \
	  [[ -f bench/$$(basename "$$bin").c ]] || continue; \
	  n=$$((n + 1)); echo "== bench: $$(basename "$$bin")"; \
	  rc=0; "$$bin" || rc=$$?; \
	  if [[ $$rc -ne 0 ]]; then echo "bench: $$(basename "$$bin") FAILED (exit $$rc)"; fail=1; fi; \
	done; \
	if [[ $$n -eq 0 ]]; then echo "bench: no benchmarks built (bench/*.c)"; fi; \
	exit $$fail

# --- misc -------------------------------------------------------------------
demo: deps build
	bash scripts/demo.sh

demo-attestation: deps build
	bash scripts/demo-attestation.sh

clean:
	rm -rf $(BUILD_DIR) $(SAN_DIR) $(FUZZ_DIR)

FORMAT_DIRS := $(wildcard src include tests fuzz bench)
format:
	@command -v clang-format >/dev/null || { echo "format: clang-format not installed"; exit 1; }
	@if [[ -n "$(FORMAT_DIRS)" ]]; then \
	  find $(FORMAT_DIRS) -type f \( -name '*.c' -o -name '*.h' \) -print0 | xargs -0 -r clang-format -i; \
	fi
