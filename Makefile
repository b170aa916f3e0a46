# sdm top-level entry points. `make demo` and `make test` work on a fresh Debian
# bookworm machine as root: they install missing packages, build Release, then act.
BUILD_DIR ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
SDM := $(BUILD_DIR)/app/sdm
# ccache keys on paths relative to the checkout, so clones and worktrees share hits.
export CCACHE_BASEDIR ?= $(CURDIR)
CMAKE_LAUNCHER := $(if $(shell command -v ccache 2>/dev/null),-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache,)

.PHONY: all deps configure build demo test bench clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_LAUNCHER) > $(BUILD_DIR).configure.log 2>&1 || (cat $(BUILD_DIR).configure.log; exit 1)

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	@$(SDM) bench scenarios/default.toml

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

bench: build
	@mkdir -p results
	@$(BUILD_DIR)/bench/micro/sdm_micro --benchmark_out=results/micro.json --benchmark_out_format=json --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

clean:
	@rm -rf $(BUILD_DIR) $(BUILD_DIR).configure.log
